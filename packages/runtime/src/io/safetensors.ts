import type { DType } from '@kvsieve/core';
import { ModelConfigError, ModelFileError } from '../errors.js';
import { type ByteFile, RandomAccessFile } from './file.js';
import { assertFinite } from './finite.js';
import { diskFolder, type ModelFolder } from './folder.js';
import { readSafetensorsHeader, SAFETENSORS_BYTES, type SafetensorsEntry } from './safetensors-header.js';
import { indexShards } from './safetensors-index.js';
import { showName } from './show.js';

export interface StoredTensor {
  readonly name: string;
  readonly shape: number[];
  /** Storage dtype as the file names it (F32, F16, BF16, ...). */
  readonly fileDType: string;
  readonly file: string;
}

/** Where a tensor's values come from: shapes first (checked before reading), data on demand. */
export interface WeightSource {
  /** How messages name the source: a file path, or "N safetensors shards in DIR". */
  readonly description: string;
  /** Whether a tensor of this name is stored. */
  has(name: string): boolean;
  /** A tensor's shape and storage dtype, read from the header only; undefined when absent. */
  info(name: string):
    | {
        /** Row-major shape. */
        shape: number[];
        /** Storage dtype as the file names it (`F32`, `F16`, `BF16`, …). */
        dtype: string;
        /** The file (shard) that holds it. */
        file: string;
      }
    | undefined;
  /** Values as stored: f32, raw f16/bf16 bits, or a quantized dtype's block bytes (GGUF). */
  read(name: string): {
    /** The stored values: f32 values, raw 16-bit bits, or block bytes. */
    data: Float32Array | Uint16Array | Uint8Array;
    /** How `data` is to be read (`'f32'`, `'f16'`, `'bf16'`, or a quantized dtype). */
    dtype: DType;
    /** Row-major shape. */
    shape: number[];
  };
  /** Closes every file the source opened or was given. */
  close(): void;
}

interface Entry extends SafetensorsEntry {
  file: ByteFile;
}

/** One or more `.safetensors` files (a single file, or the shards a `.index.json` names). */
export class SafetensorsSource implements WeightSource {
  /** The file's path, or "N safetensors shards in DIR". */
  readonly description: string;
  private readonly entries = new Map<string, Entry>();
  private readonly files: ByteFile[] = [];

  /**
   * Paths (Node) or opened files. `where` names the shards' folder in the description. Files given
   * open are closed with the source.
   */
  constructor(files: readonly (string | ByteFile)[], where?: string) {
    if (files.length === 0) throw new ModelFileError('SafetensorsSource: no safetensors files given');
    const first = files[0]!;
    const firstPath = typeof first === 'string' ? first : first.path;
    const folder = where ?? firstPath.replace(/[\\/][^\\/]*$/, '');
    this.description = files.length === 1 ? firstPath : `${files.length} safetensors shards in ${folder}`;
    try {
      for (const f of files) this.open(f);
    } catch (e) {
      this.close();
      for (const f of files) if (typeof f !== 'string') f.close();
      throw e;
    }
  }

  /**
   * `model.safetensors`, or the shards of `model.safetensors.index.json`, in a model folder: a path
   * (Node) or a `ModelFolder` (e.g. files in memory).
   */
  static fromFolder(dir: string | ModelFolder): SafetensorsSource {
    const folder = typeof dir === 'string' ? diskFolder(dir) : dir;
    if (folder.has('model.safetensors')) return new SafetensorsSource([folder.open('model.safetensors')]);
    const index = 'model.safetensors.index.json';
    if (!folder.has(index)) {
      throw new ModelFileError(
        `${folder.description}: neither model.safetensors nor model.safetensors.index.json is there; download the model's weights`,
      );
    }
    const shards = indexShards(folder, index);
    const opened: ByteFile[] = [];
    try {
      for (const s of shards) opened.push(folder.open(s));
    } catch (e) {
      for (const f of opened) f.close();
      throw e;
    }
    return new SafetensorsSource(opened, folder.description);
  }

  private open(source: string | ByteFile): void {
    const file = typeof source === 'string' ? new RandomAccessFile(source) : source;
    const path = file.path;
    this.files.push(file);
    for (const e of readSafetensorsHeader(file)) {
      const other = this.entries.get(e.name);
      if (other) {
        throw new ModelFileError(
          `${path}: tensor ${showName(e.name)} is also in ${other.file.path}; a tensor must be in one shard only`,
        );
      }
      this.entries.set(e.name, { ...e, file });
    }
  }

  /** Whether any shard holds a tensor of this name. */
  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** A tensor's shape, storage dtype and shard, from the headers alone; undefined when absent. */
  info(name: string) {
    const e = this.entries.get(name);
    return e
      ? {
          /** Row-major shape. */
          shape: e.shape,
          /** Storage dtype as the file names it (`F32`, `F16`, `BF16`, …). */
          dtype: e.dtype,
          /** The shard that holds it. */
          file: e.file.path,
        }
      : undefined;
  }

  /**
   * A tensor's values: F32 as f32, F16/BF16 as raw 16-bit bits. A missing tensor or NaN/±Infinity
   * is a {@link ModelFileError}; another storage dtype a {@link ModelConfigError}.
   */
  read(name: string) {
    const e = this.entries.get(name);
    if (!e) throw new ModelFileError(`${this.description}: no tensor named ${showName(name)}`);
    if (e.dtype !== 'F32' && e.dtype !== 'F16' && e.dtype !== 'BF16') {
      throw new ModelConfigError(
        `${e.file.path}: tensor ${showName(name)} is ${showName(e.dtype)}; supported weight dtypes are F32, F16 and BF16`,
      );
    }
    const buf = e.file.read(e.start, e.end - e.start, `tensor ${showName(name)}`);
    // The bytes are fresh, at offset 0 of their own buffer (ByteFile.read): a view needs no copy.
    const data =
      e.dtype === 'F32'
        ? new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4)
        : new Uint16Array(buf.buffer, buf.byteOffset, buf.byteLength / 2);
    const dtype = e.dtype.toLowerCase() as 'f32' | 'f16' | 'bf16';
    assertFinite(data, dtype, name, e.file.path);
    return {
      /** F32 values, or the raw bits of F16/BF16 values. */
      data,
      /** How `data` is to be read: `'f32'`, `'f16'` or `'bf16'`. */
      dtype,
      /** Row-major shape. */
      shape: e.shape,
    };
  }

  /** Closes every shard. */
  close(): void {
    for (const f of this.files) f.close();
  }
}

/** Write tensors as a safetensors file (used to build test and benchmark models). */
export function encodeSafetensorsHeader(
  tensors: readonly { name: string; dtype: 'F32' | 'F16' | 'BF16'; shape: number[] }[],
): {
  /** The 8-byte little-endian header length, then the JSON header padded with spaces to 8 bytes. */
  header: Uint8Array;
  /** Each tensor's byte offset within the data section, in the order given. */
  offsets: number[];
  /** Bytes of data to write after the header (all tensors, packed). */
  totalData: number;
} {
  const meta: Record<string, unknown> = {};
  const offsets: number[] = [];
  let at = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * SAFETENSORS_BYTES[t.dtype]!;
    meta[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + bytes] };
    offsets.push(at);
    at += bytes;
  }
  let json = JSON.stringify(meta);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const text = new TextEncoder().encode(json);
  const header = new Uint8Array(8 + text.length);
  new DataView(header.buffer).setBigUint64(0, BigInt(text.length), true);
  header.set(text, 8);
  return { header, offsets, totalData: at };
}
