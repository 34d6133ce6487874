import { ModelFileError } from '../errors.js';
import type { ByteFile } from './file.js';
import { kindOf, oneLine, show, showName } from './show.js';

/** Bytes per element of the safetensors dtypes with whole-byte elements. */
export const SAFETENSORS_BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  F8_E5M2: 1,
  F8_E4M3: 1,
  F8_E8M0: 1,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  C64: 8,
};

/** The safetensors library refuses larger headers (MAX_HEADER_SIZE); so does this reader. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  readonly name: string;
  readonly shape: number[];
  /** Storage dtype as the file names it (F32, F16, BF16, ...). */
  readonly dtype: string;
  /** Absolute byte range in the file. */
  readonly start: number;
  readonly end: number;
}

/**
 * The header of one safetensors file, schema-checked (an object of `{dtype, shape, data_offsets}`
 * entries and an optional string-to-string `__metadata__`), every tensor's bytes inside the data
 * section, matching dtype × shape, and no two tensors sharing a byte.
 */
export function readSafetensorsHeader(file: ByteFile): SafetensorsEntry[] {
  const path = file.path;
  if (file.size < 8) {
    throw new ModelFileError(
      `${path}: ${file.size} bytes is too short for a safetensors file (8-byte header length first)`,
    );
  }
  const n = Number(new DataView(file.read(0, 8, 'header length').buffer).getBigUint64(0, true));
  if (n > file.size - 8) {
    throw new ModelFileError(
      `${path}: header length ${n} exceeds the file (${file.size} bytes); the file is truncated or not safetensors`,
    );
  }
  if (n > MAX_HEADER_BYTES) {
    throw new ModelFileError(
      `${path}: header length ${n} is more than the ${MAX_HEADER_BYTES} bytes safetensors allows; the file is corrupt`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(file.read(8, n, 'header'));
  } catch (e) {
    if (e instanceof ModelFileError) throw e;
    throw new ModelFileError(`${path}: header is not valid UTF-8; the file is corrupt or not safetensors`);
  }
  if (!text.startsWith('{')) {
    throw new ModelFileError(
      `${path}: header does not start with "{" (got ${show(text.slice(0, 16))}); the file is not safetensors`,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new ModelFileError(`${path}: header is not valid JSON (${oneLine(e)})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new ModelFileError(`${path}: header must be a JSON object of tensors, got ${kindOf(header)}`);
  }
  const base = 8 + n;
  const dataBytes = file.size - base;
  const out: SafetensorsEntry[] = [];
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') {
      checkMetadata(path, t);
      continue;
    }
    const label = showName(name);
    const bad = (field: string, expected: string, got: unknown): ModelFileError =>
      new ModelFileError(
        `${path}: header entry ${label}${field} must be ${expected}, got ${kindOf(got)}; the file is corrupt`,
      );
    if (t === null || typeof t !== 'object' || Array.isArray(t)) {
      throw bad('', 'an object with dtype, shape and data_offsets', t);
    }
    const { dtype, shape, data_offsets: offsets } = t as Record<string, unknown>;
    if (typeof dtype !== 'string') throw bad('.dtype', 'a dtype name such as "F32"', dtype);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad('.shape', 'an array of non-negative integers', shape);
    }
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(elements)) throw bad('.shape', 'at most 2^53 elements', shape);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((x) => Number.isSafeInteger(x) && x >= 0) ||
      offsets[0] > offsets[1]
    ) {
      throw bad('.data_offsets', '[begin, end], integers with 0 ≤ begin ≤ end', offsets);
    }
    const [s, e] = offsets as [number, number];
    if (e > dataBytes) {
      throw new ModelFileError(
        `${path}: tensor ${label} data ends at byte ${base + e} but the file has ${file.size} bytes; the file is truncated`,
      );
    }
    const width = SAFETENSORS_BYTES[dtype];
    if (width !== undefined && elements * width !== e - s) {
      throw new ModelFileError(
        `${path}: tensor ${label} is ${showName(dtype)} ${show(shape)} (${elements * width} bytes) but spans ${e - s} bytes`,
      );
    }
    out.push({ name, shape: shape as number[], dtype, start: base + s, end: base + e });
  }
  const byStart = out.filter((x) => x.end > x.start).sort((a, b) => a.start - b.start);
  for (let i = 1; i < byStart.length; i++) {
    const a = byStart[i - 1]!;
    const b = byStart[i]!;
    if (b.start < a.end) {
      throw new ModelFileError(
        `${path}: tensor ${showName(b.name)} (bytes [${b.start}, ${b.end})) overlaps tensor ${showName(a.name)} (bytes [${a.start}, ${a.end})); the header is corrupt`,
      );
    }
  }
  return out;
}

function checkMetadata(path: string, m: unknown): void {
  if (m === null) return;
  if (typeof m !== 'object' || Array.isArray(m)) {
    throw new ModelFileError(
      `${path}: header __metadata__ must be an object of strings, got ${kindOf(m)}; the file is corrupt`,
    );
  }
  for (const [k, v] of Object.entries(m)) {
    if (typeof v !== 'string') {
      throw new ModelFileError(
        `${path}: header __metadata__.${showName(k)} must be a string, got ${kindOf(v)}; the file is corrupt`,
      );
    }
  }
}
