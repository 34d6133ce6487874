import { ModelFileError } from '../errors.js';
import type { ByteFile } from './file.js';
import { showName } from './show.js';

/** A metadata value: numbers (u64/i64 as number when exact, else bigint), strings, booleans, arrays. */
export type GgufValue = number | bigint | string | boolean | GgufValue[];

/** GGUF metadata value types, by id. */
export const GGUF_VALUE_TYPES = [
  'u8',
  'i8',
  'u16',
  'i16',
  'u32',
  'i32',
  'f32',
  'bool',
  'string',
  'array',
  'u64',
  'i64',
  'f64',
] as const;
const ARRAY = 9;
/** The fewest bytes a value of each type takes, so a count can be checked before it sizes anything. */
const MIN_BYTES = [1, 1, 2, 2, 4, 4, 4, 1, 8, 12, 8, 8, 8];
/** A metadata entry is at least a key length (8), a type (4) and a 1-byte value. */
const MIN_KV_BYTES = 13;
/** A tensor entry is at least a name length (8), a rank (4), a type (4) and an offset (8). */
const MIN_TENSOR_BYTES = 24;

/** llama.cpp refuses arrays of arrays; one level of nesting is read, deeper is refused. */
export const MAX_ARRAY_DEPTH = 2;
/** ggml tensors have at most 4 dimensions (GGML_MAX_DIMS). */
export const MAX_RANK = 4;
/**
 * Sane limits far above real files (the largest tokenizer arrays hold ~10^6 entries): a header
 * that claims more is refused before V8 is asked for arrays or strings that size.
 */
export const MAX_ARRAY_LENGTH = 2 ** 24;
export const MAX_METADATA_VALUES = 2 ** 25;
export const MAX_STRING_BYTES = 2 ** 28;

/** One tensor directory entry as stored: dimensions fastest first, offset relative to the data. */
export interface RawTensorInfo {
  readonly name: string;
  readonly dims: number[];
  readonly type: number;
  readonly rel: number;
}

export interface GgufHeader {
  readonly version: number;
  readonly metadata: Map<string, GgufValue>;
  /** Each key's value type id (see {@link GGUF_VALUE_TYPES}). */
  readonly types: Map<string, number>;
  readonly tensors: RawTensorInfo[];
  /** Byte position just past the tensor directory. */
  readonly end: number;
}

// Invalid bytes become U+FFFD as Buffer#toString did; a BOM is kept, not swallowed.
const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** Reads a header progressively: tokenizer arrays can make it megabytes long. */
class Cursor {
  private buf: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private base = 0;
  /** Where in `buf` the value of the latest at() starts. */
  private last = 0;
  pos = 0;
  values = 0;

  constructor(readonly file: ByteFile) {}

  fail(what: string): never {
    throw new ModelFileError(`${this.file.path}: ${what}; the file is corrupt or not GGUF`);
  }

  get left(): number {
    return this.file.size - this.pos;
  }

  private take(n: number, what: string): number {
    if (this.pos + n > this.base + this.buf.length) {
      if (n > this.left) {
        throw new ModelFileError(
          `${this.file.path}: GGUF header ends early while reading ${what} (byte ${this.pos}, ${n} bytes wanted, file is ${this.file.size} bytes); the file is truncated`,
        );
      }
      this.buf = this.file.read(this.pos, Math.min(this.left, Math.max(n, 1 << 20)), what);
      this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
      this.base = this.pos;
    }
    const at = this.pos - this.base;
    this.pos += n;
    return at;
  }

  // take() may refill `buf`, so it runs before `view` is read (never `this.view.getX(this.take())`).
  private at(n: number, w: string): DataView {
    this.last = this.take(n, w);
    return this.view;
  }
  u8 = (w: string) => this.at(1, w).getUint8(this.last);
  i8 = (w: string) => this.at(1, w).getInt8(this.last);
  u16 = (w: string) => this.at(2, w).getUint16(this.last, true);
  i16 = (w: string) => this.at(2, w).getInt16(this.last, true);
  u32 = (w: string) => this.at(4, w).getUint32(this.last, true);
  i32 = (w: string) => this.at(4, w).getInt32(this.last, true);
  f32 = (w: string) => this.at(4, w).getFloat32(this.last, true);
  f64 = (w: string) => this.at(8, w).getFloat64(this.last, true);
  u64 = (w: string): number | bigint => narrow(this.at(8, w).getBigUint64(this.last, true));
  i64 = (w: string): number | bigint => narrow(this.at(8, w).getBigInt64(this.last, true));

  /** A u64 count of items at least `minBytes` each, checked against the bytes left and `max`. */
  count(what: string, minBytes: number, max = Number.MAX_SAFE_INTEGER): number {
    const n = this.u64(what);
    if (typeof n === 'bigint' || n * minBytes > this.left) {
      this.fail(`${what} is ${n}, but ${this.left} bytes are left and each item takes at least ${minBytes}`);
    }
    if (n > max) this.fail(`${what} is ${n}, more than the ${max} kvsieve reads`);
    return n;
  }

  string(what: string): string {
    const n = this.count(`${what} string length`, 1, MAX_STRING_BYTES);
    const at = this.take(n, what);
    return UTF8.decode(this.buf.subarray(at, at + n));
  }
}

function narrow(v: bigint): number | bigint {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function readValue(c: Cursor, type: number, key: string, depth: number): GgufValue {
  if (++c.values > MAX_METADATA_VALUES) {
    c.fail(`metadata holds more than ${MAX_METADATA_VALUES} values (at ${key})`);
  }
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
      return c.string(`metadata ${key}`);
    case ARRAY: {
      if (depth >= MAX_ARRAY_DEPTH) {
        c.fail(
          `metadata ${key} nests arrays more than ${MAX_ARRAY_DEPTH} deep (llama.cpp reads arrays of plain values only)`,
        );
      }
      const itemType = c.u32(`${key} item type`);
      const minBytes = MIN_BYTES[itemType];
      if (minBytes === undefined) c.fail(`metadata ${key} is an array of unknown value type ${itemType}`);
      const n = c.count(`metadata ${key} array length`, minBytes, MAX_ARRAY_LENGTH);
      const out: GgufValue[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = readValue(c, itemType, key, depth + 1);
      return out;
    }
    case 10:
      return c.u64(key);
    case 11:
      return c.i64(key);
    case 12:
      return c.f64(key);
    default:
      return c.fail(`metadata ${key} has unknown value type ${type} (a newer GGUF version?)`);
  }
}

/**
 * Magic, version, metadata and the tensor directory, every count checked against the bytes left
 * before anything is sized from it. Layout (alignment, byte ranges) is checked by the caller.
 */
export function readGgufHeader(file: ByteFile): GgufHeader {
  const path = file.path;
  const c: Cursor = new Cursor(file);
  const magic = c.u32('magic');
  if (magic !== 0x46554747) {
    throw new ModelFileError(`${path}: not a GGUF file (magic 0x${magic.toString(16)}, expected "GGUF")`);
  }
  const version = c.u32('version');
  if (version !== 2 && version !== 3) {
    throw new ModelFileError(`${path}: GGUF version ${version} is not supported (expected 2 or 3)`);
  }
  const nTensors = c.count('tensor count', MIN_TENSOR_BYTES);
  const nKv = c.count('metadata count', MIN_KV_BYTES);
  if (nTensors * MIN_TENSOR_BYTES + nKv * MIN_KV_BYTES > c.left) {
    c.fail(`${nTensors} tensors and ${nKv} metadata entries cannot fit in the ${c.left} bytes left`);
  }
  const metadata = new Map<string, GgufValue>();
  const types = new Map<string, number>();
  for (let i = 0; i < nKv; i++) {
    const key = c.string(`metadata key ${i}`);
    const label = showName(key);
    if (metadata.has(key)) c.fail(`metadata key ${label} appears twice`);
    const type = c.u32(`metadata ${label} type`);
    types.set(key, type);
    metadata.set(key, readValue(c, type, label, 0));
  }
  const tensors: RawTensorInfo[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const name = c.string(`tensor ${i} name`);
    const label = showName(name);
    if (seen.has(name)) c.fail(`tensor ${label} appears twice in the tensor directory`);
    seen.add(name);
    const rank = c.u32(`tensor ${label} rank`);
    if (rank > MAX_RANK) c.fail(`tensor ${label} has rank ${rank}; GGUF allows at most ${MAX_RANK}`);
    const dims: number[] = [];
    let elements = 1;
    for (let d = 0; d < rank; d++) {
      const n = c.u64(`tensor ${label} dimension ${d}`);
      if (typeof n === 'bigint' || n < 1 || n * elements > Number.MAX_SAFE_INTEGER) {
        c.fail(
          `tensor ${label} dimension ${d} is ${n}; each must be at least 1 and the element count at most 2^53`,
        );
      }
      elements *= n;
      dims.push(n);
    }
    const type = c.u32(`tensor ${label} type`);
    const rel = c.u64(`tensor ${label} offset`);
    if (typeof rel === 'bigint' || rel > file.size) {
      c.fail(`tensor ${label} offset ${rel} lies beyond the ${file.size}-byte file`);
    }
    tensors.push({ name, dims, type, rel });
  }
  return { version, metadata, types, tensors, end: c.pos };
}
