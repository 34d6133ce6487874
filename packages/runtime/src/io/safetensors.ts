import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ModelConfigError, ModelFileError } from '../errors.js';
import { RandomAccessFile } from './file.js';

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
  read(name: string): { data: Float32Array | Uint16Array; dtype: 'f32' | 'f16' | 'bf16'; shape: number[] };
  close(): void;
}

const BYTES: Record<string, number> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  F64: 8,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

interface Entry {
  shape: number[];
  dtype: string;
  start: number;
  end: number;
  file: RandomAccessFile;
}

/** One or more `.safetensors` files (a single file, or the shards a `.index.json` names). */
export class SafetensorsSource implements WeightSource {
  readonly description: string;
  private readonly entries = new Map<string, Entry>();
  private readonly files: RandomAccessFile[] = [];

  constructor(paths: readonly string[]) {
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
    let map: Record<string, string>;
    try {
      map = JSON.parse(readFileSync(index, 'utf8')).weight_map;
    } catch (e) {
      throw new ModelFileError(`${index}: not valid JSON (${(e as Error).message})`);
    }
    if (!map || typeof map !== 'object') throw new ModelFileError(`${index}: no "weight_map" object`);
    const shards = [...new Set(Object.values(map))].map((f) => join(dir, f));
    for (const s of shards)
      if (!existsSync(s)) throw new ModelFileError(`${index} names shard ${s}, which is missing`);
    return new SafetensorsSource(shards);
  }

  private open(path: string): void {
    const file = new RandomAccessFile(path);
    this.files.push(file);
    if (file.size < 8)
      throw new ModelFileError(
        `${path}: ${file.size} bytes is too short for a safetensors file (8-byte header length first)`,
      );
    const n = Number(file.read(0, 8, 'header length').readBigUInt64LE(0));
    if (n > file.size - 8) {
      throw new ModelFileError(
        `${path}: header length ${n} exceeds the file (${file.size} bytes); the file is truncated or not safetensors`,
      );
    }
    let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    try {
      header = JSON.parse(file.read(8, n, 'header').toString('utf8'));
    } catch (e) {
      throw new ModelFileError(`${path}: header is not valid JSON (${(e as Error).message})`);
    }
    const base = 8 + n;
    for (const [name, t] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const [s, e] = t.data_offsets ?? [];
      if (!Array.isArray(t.shape) || typeof s !== 'number' || typeof e !== 'number') {
        throw new ModelFileError(`${path}: tensor ${name} has no shape or data_offsets in the header`);
      }
      if (base + e > file.size) {
        throw new ModelFileError(
          `${path}: tensor ${name} data ends at byte ${base + e} but the file has ${file.size} bytes; the file is truncated`,
        );
      }
      const elements = t.shape.reduce((a, b) => a * b, 1);
      const width = BYTES[t.dtype];
      if (width !== undefined && elements * width !== e - s) {
        throw new ModelFileError(
          `${path}: tensor ${name} is ${t.dtype} ${JSON.stringify(t.shape)} (${elements * width} bytes) but spans ${e - s} bytes`,
        );
      }
      this.entries.set(name, { shape: t.shape, dtype: t.dtype, start: base + s, end: base + e, file });
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
    if (!e) throw new ModelFileError(`${this.description}: no tensor named ${name}`);
    if (e.dtype !== 'F32' && e.dtype !== 'F16' && e.dtype !== 'BF16') {
      throw new ModelConfigError(
        `${e.file.path}: tensor ${name} is ${e.dtype}; supported weight dtypes are F32, F16 and BF16`,
      );
    }
    const buf = e.file.read(e.start, e.end - e.start, `tensor ${name}`);
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    const data = e.dtype === 'F32' ? new Float32Array(ab) : new Uint16Array(ab);
    return { data, dtype: e.dtype.toLowerCase() as 'f32' | 'f16' | 'bf16', shape: e.shape };
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
    const bytes = t.shape.reduce((a, b) => a * b, 1) * BYTES[t.dtype]!;
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
