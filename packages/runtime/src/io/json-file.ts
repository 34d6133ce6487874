import { ModelFileError } from '../errors.js';
import type { ModelFolder } from './folder.js';
import { kindOf, oneLine } from './show.js';

/** Far above any real tokenizer.json (tens of MB), below V8's longest string (~512 MiB). */
export const MAX_JSON_BYTES = 256 * 2 ** 20;

/**
 * A JSON file of a model folder, parsed; `undefined` when it is absent and not required. Its size
 * is checked before it is read, and on disk only a regular file is read (a FIFO would block forever).
 */
export function readJsonFile(folder: ModelFolder, name: string, required: boolean): unknown {
  const path = folder.label(name);
  if (!folder.has(name)) {
    if (required) throw new ModelFileError(`${path} is missing; a Hugging Face model folder needs it`);
    return undefined;
  }
  const file = folder.open(name);
  let text: string;
  try {
    if (file.size > MAX_JSON_BYTES) {
      throw new ModelFileError(
        `${path} is ${file.size} bytes, more than the ${MAX_JSON_BYTES} bytes kvsieve reads for a JSON file; the file is not what its name says`,
      );
    }
    text = new TextDecoder('utf-8').decode(file.read(0, file.size, 'the JSON text'));
  } finally {
    file.close();
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelFileError(`${path}: not valid JSON (${oneLine(e)})`);
  }
}

/** `v` as a JSON object, or a {@link ModelFileError} naming the file and what was expected. */
export function expectObject(v: unknown, path: string, what = 'the file'): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new ModelFileError(`${path}: ${what} must be a JSON object, got ${kindOf(v)}`);
  }
  return v as Record<string, unknown>;
}

/** A token id field: an integer in [0, 2^31), a list of them, or absent/null (no ids). */
export function tokenIds(v: unknown, path: string, field: string): number[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  for (const x of list) {
    if (!Number.isInteger(x) || (x as number) < 0 || (x as number) >= 2 ** 31) {
      throw new ModelFileError(
        `${path}: ${field} must be a token id (an integer ≥ 0) or a list of them, got ${kindOf(v)}`,
      );
    }
  }
  return list as number[];
}
