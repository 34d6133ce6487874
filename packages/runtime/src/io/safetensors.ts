import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DType } from '@kvsieve/core';
import { ModelConfigError, ModelFileError } from '../errors.js';
import { RandomAccessFile } from './file.js';
import { assertFinite } from './finite.js';
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
  readonly description: string;
  has(name: string): boolean;
  info(name: string): { shape: number[]; dtype: string; file: string } | undefined;
  /** Values as stored: f32, raw f16/bf16 bits, or a quantized dtype's block bytes (GGUF). */
  read(name: string): { data: Float32Array | Uint16Array | Uint8Array; dtype: DType; shape: number[] };
  close(): void;
}

interface Entry extends SafetensorsEntry {
  file: RandomAccessFile;
}

/** One or more `.safetensors` files (a single file, or the shards a `.index.json` names). */
export class SafetensorsSource implements WeightSource {
  readonly description: string;
  private readonly entries = new Map<string, Entry>();
  private readonly files: RandomAccessFile[] = [];

  constructor(paths: readonly string[]) {
    if (paths.length === 0) throw new ModelFileError('SafetensorsSource: no safetensors files given');
    this.description =
      paths.length === 1 ? paths[0]! : `${paths.length} safetensors shards in ${dirname(paths[0]!)}`;
    try {
      for (const p of paths) this.open(p);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** `model.safetensors`, or the shards of `model.safetensors.index.json`, in a model folder. */
  static fromFolder(dir: string): SafetensorsSource {
    const single = join(dir, 'model.safetensors');
    if (existsSync(single)) return new SafetensorsSource([single]);
    const index = join(dir, 'model.safetensors.index.json');
    if (!existsSync(index)) {
      throw new ModelFileError(
        `${dir}: neither model.safetensors nor model.safetensors.index.json is there; download the model's weights`,
      );
    }
    return new SafetensorsSource(indexShards(dir, index));
  }

  private open(path: string): void {
    const file = new RandomAccessFile(path);
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

  has(name: string): boolean {
    return this.entries.has(name);
  }

  info(name: string) {
    const e = this.entries.get(name);
    return e ? { shape: e.shape, dtype: e.dtype, file: e.file.path } : undefined;
  }

  read(name: string) {
    const e = this.entries.get(name);
    if (!e) throw new ModelFileError(`${this.description}: no tensor named ${showName(name)}`);
    if (e.dtype !== 'F32' && e.dtype !== 'F16' && e.dtype !== 'BF16') {
      throw new ModelConfigError(
        `${e.file.path}: tensor ${showName(name)} is ${showName(e.dtype)}; supported weight dtypes are F32, F16 and BF16`,
      );
    }
    const buf = e.file.read(e.start, e.end - e.start, `tensor ${showName(name)}`);
    // The buffer is fresh and unpooled (RandomAccessFile.read), so a view needs no copy.
    const data =
      e.dtype === 'F32'
        ? new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4)
        : new Uint16Array(buf.buffer, buf.byteOffset, buf.byteLength / 2);
    const dtype = e.dtype.toLowerCase() as 'f32' | 'f16' | 'bf16';
    assertFinite(data, dtype, name, e.file.path);
    return { data, dtype, shape: e.shape };
  }

  close(): void {
    for (const f of this.files) f.close();
  }
}

/** Write tensors as a safetensors file (used to build test and benchmark models). */
export function encodeSafetensorsHeader(
  tensors: readonly { name: string; dtype: 'F32' | 'F16' | 'BF16'; shape: number[] }[],
): { header: Buffer; offsets: number[]; totalData: number } {
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
  const header = Buffer.alloc(8 + Buffer.byteLength(json));
  header.writeBigUInt64LE(BigInt(Buffer.byteLength(json)), 0);
  header.write(json, 8);
  return { header, offsets, totalData: at };
}
