import { ModelFileError } from '../errors.js';
import { type ByteFile, BytesFile, RandomAccessFile } from './file.js';
import { nodeFs, nodePath } from './node.js';
import { showName } from './show.js';

/**
 * A model's files as bytes, by file name: `{ 'config.json', 'model.safetensors', 'tokenizer.json',
 * … }` for a Hugging Face model (shards by the names its index uses), or one `*.gguf`. What a
 * browser has after `fetch(url).then((r) => r.arrayBuffer())`.
 */
export type ModelFiles = Readonly<Record<string, Uint8Array | ArrayBuffer>>;

/** Where the files of a Hugging Face model folder come from: a folder on disk, or bytes. */
export interface ModelFolder {
  /** The folder as messages name it. */
  readonly description: string;
  /** How messages name one of its files (a path on disk, or the file's name). */
  label(name: string): string;
  has(name: string): boolean;
  open(name: string): ByteFile;
}

/** A folder on disk (Node). */
export function diskFolder(dir: string): ModelFolder {
  const what = `reading ${dir}`;
  const path = nodePath(what);
  const fs = nodeFs(what);
  return {
    description: dir,
    label: (name) => path.join(dir, name),
    has: (name) => fs.existsSync(path.join(dir, name)),
    open: (name) => new RandomAccessFile(path.join(dir, name)),
  };
}

/** Files given as bytes (anywhere, a browser included). */
export function memoryFolder(files: ModelFiles, description = 'the model files given'): ModelFolder {
  const has = (name: string) => Object.hasOwn(files, name);
  return {
    description,
    label: (name) => name,
    has,
    open(name) {
      const bytes = has(name) ? files[name] : undefined;
      if (!(bytes instanceof Uint8Array || bytes instanceof ArrayBuffer)) {
        throw new ModelFileError(
          bytes === undefined
            ? `${showName(name)} is missing from ${description}`
            : `${showName(name)} in ${description} must be a Uint8Array or an ArrayBuffer of the file's bytes`,
        );
      }
      return new BytesFile(name, bytes);
    },
  };
}
