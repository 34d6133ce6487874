import { ModelFileError } from '../errors.js';
import type { ModelFolder } from './folder.js';
import { expectObject, readJsonFile } from './json-file.js';
import { kindOf, showName, showPath } from './show.js';

/**
 * Whether a shard name from an index stays inside the model folder, judged on the name alone: no
 * NUL, not absolute, no drive letter, and no `..` climbing above the folder (either slash counts
 * as a separator). Symlinks inside the folder are followed as the file system does, because the
 * Hugging Face cache links snapshot files into a blobs folder outside the snapshot.
 */
export function isInsideFolder(name: string): boolean {
  if (name.length === 0 || name.includes('\0')) return false;
  if (name.startsWith('/') || name.startsWith('\\') || /^[A-Za-z]:/.test(name)) return false;
  let depth = 0;
  for (const seg of name.split(/[\\/]/)) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (--depth < 0) return false;
    } else depth++;
  }
  return depth > 0;
}

/**
 * The shard files a `model.safetensors.index.json` names (names inside `folder`), each checked to
 * stay inside the folder and to be there.
 */
export function indexShards(folder: ModelFolder, indexName: string): string[] {
  const index = folder.label(indexName);
  const json = expectObject(readJsonFile(folder, indexName, true), index);
  if (json.metadata !== undefined && json.metadata !== null)
    expectObject(json.metadata, index, 'field metadata');
  const map = json.weight_map;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) {
    throw new ModelFileError(
      `${index}: field weight_map must be an object of tensor name → shard file name, got ${kindOf(map)}`,
    );
  }
  const entries = Object.entries(map);
  if (entries.length === 0)
    throw new ModelFileError(`${index}: field weight_map is empty; it names no shard`);
  const names = new Set<string>();
  for (const [tensor, file] of entries) {
    if (typeof file !== 'string') {
      throw new ModelFileError(
        `${index}: weight_map.${showName(tensor)} must be a shard file name (a string), got ${kindOf(file)}`,
      );
    }
    if (!isInsideFolder(file)) {
      throw new ModelFileError(
        `${index}: weight_map.${showName(tensor)} names shard ${showName(file)}, which is outside the model folder (absolute, a drive, NUL or ".." above the folder); shards must be files in the folder`,
      );
    }
    names.add(file);
  }
  for (const f of names) {
    if (!folder.has(f)) {
      throw new ModelFileError(
        `${index} names shard ${showName(f)}, which is missing from ${showPath(folder.description)}`,
      );
    }
  }
  return [...names];
}
