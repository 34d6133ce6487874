import { f16BitsToF32 } from '@kvsieve/core';
import { ModelFileError } from '../errors.js';
import { RandomAccessFile } from './file.js';

/** A metadata value: numbers (u64/i64 as number when exact, else bigint), strings, booleans, arrays. */
export type GgufValue = number | bigint | string | boolean | GgufValue[];

/** ggml tensor types this reader can turn into f32/f16/bf16 (others are rejected by name). */
export const GGML_TYPES: Record<number, { name: string; blockSize: number; blockBytes: number }> = {
  0: { name: 'F32', blockSize: 1, blockBytes: 4 },
  1: { name: 'F16', blockSize: 1, blockBytes: 2 },
  8: { name: 'Q8_0', blockSize: 32, blockBytes: 34 },
  30: { name: 'BF16', blockSize: 1, blockBytes: 2 },
};

const KNOWN_TYPE_NAMES: Record<number, string> = {
  2: 'Q4_0',
  3: 'Q4_1',
  6: 'Q5_0',
  7: 'Q5_1',
  9: 'Q8_1',
  10: 'Q2_K',
  11: 'Q3_K',
  12: 'Q4_K',
  13: 'Q5_K',
  14: 'Q6_K',
  15: 'Q8_K',
  16: 'IQ2_XXS',
  17: 'IQ2_XS',
  18: 'IQ3_XXS',
  19: 'IQ1_S',
  20: 'IQ4_NL',
  21: 'IQ3_S',
  22: 'IQ2_S',
  23: 'IQ4_XS',
  24: 'I8',
  25: 'I16',
  26: 'I32',
  27: 'I64',
  28: 'F64',
  29: 'IQ1_M',
};

export interface GgufTensorInfo {
  readonly name: string;
  /** Row-major shape (GGUF lists dimensions fastest first; this is reversed). */
  readonly shape: number[];
  readonly type: number;
  /** Absolute byte offset of the data in the file. */
  readonly offset: number;
  readonly byteLength: number;
}

/** Reads a header progressively: tokenizer arrays can make it megabytes long. */
class Cursor {
  private buf: Buffer = Buffer.alloc(0);
  private base = 0;
  pos = 0;

  constructor(private readonly file: RandomAccessFile) {}

  private ensure(n: number, what: string): void {
    if (this.pos + n <= this.base + this.buf.length) return;
    if (this.pos + n > this.file.size) {
      throw new ModelFileError(
        `${this.file.path}: GGUF header ends early while reading ${what} (file is ${this.file.size} bytes); the file is truncated`,
      );
    }
    const len = Math.min(this.file.size - this.pos, Math.max(n, 1 << 20));
    this.buf = this.file.read(this.pos, len, what);
    this.base = this.pos;
  }

  private take(n: number, what: string): number {
    this.ensure(n, what);
    const at = this.pos - this.base;
    this.pos += n;
    return at;
  }

  u8 = (w: string) => {
    const at = this.take(1, w);
    return this.buf.readUInt8(at);
  };
  i8 = (w: string) => {
    const at = this.take(1, w);
    return this.buf.readInt8(at);
  };
  u16 = (w: string) => {
    const at = this.take(2, w);
    return this.buf.readUInt16LE(at);
  };
  i16 = (w: string) => {
    const at = this.take(2, w);
    return this.buf.readInt16LE(at);
  };
  u32 = (w: string) => {
    const at = this.take(4, w);
    return this.buf.readUInt32LE(at);
  };
  i32 = (w: string) => {
    const at = this.take(4, w);
    return this.buf.readInt32LE(at);
  };
  f32 = (w: string) => {
    const at = this.take(4, w);
    return this.buf.readFloatLE(at);
  };
  f64 = (w: string) => {
    const at = this.take(8, w);
    return this.buf.readDoubleLE(at);
  };
  u64 = (w: string): number | bigint => {
    const at = this.take(8, w);
    return narrow(this.buf.readBigUInt64LE(at));
  };
  i64 = (w: string): number | bigint => {
    const at = this.take(8, w);
    return narrow(this.buf.readBigInt64LE(at));
  };

  count(what: string): number {
    const n = this.u64(what);
    if (typeof n === 'bigint' || n > this.file.size) {
      throw new ModelFileError(
        `${this.file.path}: ${what} is ${n}, more than the file could hold; the file is not valid GGUF`,
      );
    }
    return n;
  }

  string(what: string): string {
    const n = this.count(`${what} length`);
    const at = this.take(n, what);
    return this.buf.toString('utf8', at, at + n);
  }
}

function narrow(v: bigint): number | bigint {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function readValue(c: Cursor, type: number, key: string): GgufValue {
  switch (type) {
    case 0:
      return c.u8(key);
    case 1:
      return c.i8(key);
    case 2:
      return c.u16(key);
    case 3:
      return c.i16(key);
    case 4:
      return c.u32(key);
    case 5:
      return c.i32(key);
    case 6:
      return c.f32(key);
    case 7:
      return c.u8(key) !== 0;
    case 8:
      return c.string(key);
    case 9: {
      const itemType = c.u32(`${key} item type`);
      const n = c.count(`${key} array length`);
      const out: GgufValue[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = readValue(c, itemType, key);
      return out;
    }
    case 10:
      return c.u64(key);
    case 11:
      return c.i64(key);
    case 12:
      return c.f64(key);
    default:
      throw new ModelFileError(
        `GGUF metadata ${key}: unknown value type ${type}; the file is corrupt or from a newer GGUF version`,
      );
  }
}

/** A GGUF file: metadata and tensor directory read at open, tensor data read on demand. */
export class GgufFile {
  readonly metadata = new Map<string, GgufValue>();
  readonly tensors = new Map<string, GgufTensorInfo>();
  readonly version: number;
  private readonly file: RandomAccessFile;

  constructor(readonly path: string) {
    this.file = new RandomAccessFile(path);
    try {
      const c = new Cursor(this.file);
      const magic = c.u32('magic');
      if (magic !== 0x46554747) {
        throw new ModelFileError(`${path}: not a GGUF file (magic 0x${magic.toString(16)}, expected "GGUF")`);
      }
      this.version = c.u32('version');
      if (this.version !== 2 && this.version !== 3) {
        throw new ModelFileError(`${path}: GGUF version ${this.version} is not supported (expected 2 or 3)`);
      }
      const nTensors = c.count('tensor count');
      const nKv = c.count('metadata count');
      for (let i = 0; i < nKv; i++) {
        const key = c.string('metadata key');
        const type = c.u32(`${key} type`);
        this.metadata.set(key, readValue(c, type, key));
      }
      const infos: { name: string; dims: number[]; type: number; rel: number }[] = [];
      for (let i = 0; i < nTensors; i++) {
        const name = c.string('tensor name');
        const nd = c.u32(`${name} rank`);
        if (nd > 4) throw new ModelFileError(`${path}: tensor ${name} has rank ${nd}; GGUF allows at most 4`);
        const dims = Array.from({ length: nd }, () => c.count(`${name} dimension`));
        const type = c.u32(`${name} type`);
        const rel = c.count(`${name} offset`);
        infos.push({ name, dims, type, rel });
      }
      const align = Number(this.metadata.get('general.alignment') ?? 32);
      const dataStart = Math.ceil(c.pos / align) * align;
      for (const { name, dims, type, rel } of infos) {
        const elements = dims.reduce((a, b) => a * b, 1);
        const t = GGML_TYPES[type];
        const byteLength = t ? (elements / t.blockSize) * t.blockBytes : 0;
        const info = { name, shape: [...dims].reverse(), type, offset: dataStart + rel, byteLength };
        if (t && info.offset + byteLength > this.file.size) {
          throw new ModelFileError(
            `${path}: tensor ${name} needs bytes [${info.offset}, ${info.offset + byteLength}) but the file has ${this.file.size}; the file is truncated`,
          );
        }
        this.tensors.set(name, info);
      }
    } catch (e) {
      this.file.close();
      throw e;
    }
  }

  get(key: string): GgufValue | undefined {
    return this.metadata.get(key);
  }

  /**
   * One tensor's values: F32 and Q8_0 as f32, F16/BF16 as raw 16-bit storage. Q8_0 is dequantized
   * block by block (scale · int8), which is what llama.cpp's reference dequantization computes.
   */
  readTensor(name: string): {
    data: Float32Array | Uint16Array;
    dtype: 'f32' | 'f16' | 'bf16';
    shape: number[];
  } {
    const info = this.tensors.get(name);
    if (!info) throw new ModelFileError(`${this.path}: no tensor named ${name}`);
    const t = GGML_TYPES[info.type];
    if (!t) {
      const typeName = KNOWN_TYPE_NAMES[info.type] ?? `type ${info.type}`;
      throw new ModelFileError(
        `${this.path}: tensor ${name} is ${typeName}; supported GGUF tensor types are F32, F16, BF16 and Q8_0 (convert the model with one of those)`,
      );
    }
    const buf = this.file.read(info.offset, info.byteLength, `tensor ${name}`);
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    if (t.name === 'F32') return { data: new Float32Array(ab), dtype: 'f32', shape: info.shape };
    if (t.name === 'F16') return { data: new Uint16Array(ab), dtype: 'f16', shape: info.shape };
    if (t.name === 'BF16') return { data: new Uint16Array(ab), dtype: 'bf16', shape: info.shape };
    return { data: dequantizeQ8_0(buf, info.byteLength / 34), dtype: 'f32', shape: info.shape };
  }

  close(): void {
    this.file.close();
  }
}

function dequantizeQ8_0(buf: Buffer, blocks: number): Float32Array {
  const out = new Float32Array(blocks * 32);
  for (let b = 0; b < blocks; b++) {
    const d = f16BitsToF32(buf.readUInt16LE(b * 34));
    for (let i = 0; i < 32; i++) out[b * 32 + i] = d * buf.readInt8(b * 34 + 2 + i);
  }
  return out;
}
