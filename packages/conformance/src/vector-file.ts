import { KvsieveError } from '@kvsieve/core';

/** A reference-vector file is missing, unreadable or not in the format of ../shared/golden/README.md. */
export class VectorFileError extends KvsieveError {
  /** Always `'VectorFileError'`. */
  override name = 'VectorFileError';
}

/** Dimensions of a vector file's inputs; every field a positive integer. */
export interface VectorShape {
  /** Query heads (H); a multiple of `kvHeads`. */
  readonly queryHeads: number;
  /** KV heads (Hkv). */
  readonly kvHeads: number;
  /** Tokens (L): the prompt length the checks run on. */
  readonly length: number;
  /** Features per head (d). */
  readonly headDim: number;
}

/** One reference selection to reproduce: a method, its parameters and what the reference kept. */
export interface VectorCheck {
  /** The check's name, shown after the file's in results (`file.json: name`). */
  readonly name: string;
  /** Which adapter runs it: a key of `VECTOR_METHODS` (`snapkv`, `pyramidkv`, `h2o`, `streamingllm`, `adakv`) or one given with `--method`. */
  readonly method: string;
  /** The reference's parameters in the golden format's vocabulary (`capacity`, `window`, `kernel`, ...); the adapter maps them to the method's options. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Layer index the check plays (default 0); matters for layer-dependent budgets such as PyramidKV's. */
  readonly layer?: number;
  /** Per KV head: kept positions, ascending, window included. */
  readonly kept: readonly Int32Array[];
  /** `[kvHeads, length − window]` scores the reference selected by, when it recorded them. */
  readonly pooledScores?: Float32Array;
}

/** A parsed, validated reference-vector file (format: ../shared/golden/README.md). */
export interface VectorFile {
  /** Where it was read from. */
  readonly path: string;
  /** The file's own `name` field. */
  readonly name: string;
  /** Dimensions of `query` and `key`. */
  readonly shape: VectorShape;
  /** `[queryHeads, length, headDim]`, post-RoPE. */
  readonly query: Float32Array;
  /** `[kvHeads, length, headDim]`, post-RoPE. */
  readonly key: Float32Array;
  /** The checks to run on these inputs; at least one. */
  readonly checks: readonly VectorCheck[];
}

/** Decode base64 little-endian float32 data; throws a `VectorFileError` naming `what` when the byte count is not a multiple of 4. */
export function decodeF32(b64: string, what: string): Float32Array {
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length % 4 !== 0)
    throw new VectorFileError(`${what}: ${bytes.length} bytes is not a whole number of float32 values`);
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

/** Encode values as base64 little-endian float32 (each rounded to f32), the format's array encoding; the inverse of {@link decodeF32}. */
export function encodeF32(values: ArrayLike<number>): string {
  const bytes = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) bytes.writeFloatLE(values[i]!, i * 4);
  return bytes.toString('base64');
}

function isObject(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

function positiveInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 1;
}

/** Validates a parsed file against the golden format; every message names the file and the field. */
export function parseVectorFile(json: unknown, path: string): VectorFile {
  const fail = (field: string, expected: string, got: unknown): never => {
    const shown = typeof got === 'string' && got.length > 40 ? `${got.slice(0, 40)}…` : JSON.stringify(got);
    throw new VectorFileError(
      `${path}: ${field} must be ${expected}, got ${shown ?? String(got)} (see ../shared/golden/README.md for the format)`,
    );
  };
  if (!isObject(json)) return fail('the top level', 'an object', json);
  const name = typeof json.name === 'string' ? json.name : fail('"name"', 'a string', json.name);
  const s = isObject(json.shape) ? json.shape : fail('"shape"', 'an object', json.shape);
  for (const k of ['queryHeads', 'kvHeads', 'length', 'headDim'] as const) {
    if (!positiveInt(s[k])) fail(`"shape.${k}"`, 'a positive integer', s[k]);
  }
  const shape = s as unknown as VectorShape;
  if (shape.queryHeads % shape.kvHeads !== 0) {
    fail('"shape.queryHeads"', `a multiple of shape.kvHeads (${shape.kvHeads})`, shape.queryHeads);
  }
  const tensor = (field: 'query' | 'key', rows: number): Float32Array => {
    const v = json[field];
    if (typeof v !== 'string') return fail(`"${field}"`, 'a base64 string of float32 values', v);
    const data = decodeF32(v, `${path}: "${field}"`);
    const want = rows * shape.length * shape.headDim;
    if (data.length !== want)
      fail(
        `"${field}"`,
        `${want} float32 values [${rows}, ${shape.length}, ${shape.headDim}]`,
        `${data.length} values`,
      );
    return data;
  };
  const query = tensor('query', shape.queryHeads);
  const key = tensor('key', shape.kvHeads);
  if (!Array.isArray(json.checks) || json.checks.length === 0)
    fail('"checks"', 'a non-empty array', json.checks);
  const checks = (json.checks as unknown[]).map((c, i): VectorCheck => {
    const at = `"checks[${i}]`;
    if (!isObject(c)) return fail(`${at}"`, 'an object', c);
    if (typeof c.name !== 'string') fail(`${at}.name"`, 'a string', c.name);
    if (typeof c.method !== 'string') fail(`${at}.method"`, 'a string', c.method);
    if (!isObject(c.params)) fail(`${at}.params"`, 'an object', c.params);
    if (
      c.layer !== undefined &&
      !(typeof c.layer === 'number' && Number.isInteger(c.layer) && c.layer >= 0)
    ) {
      fail(`${at}.layer"`, 'a non-negative integer', c.layer);
    }
    if (!Array.isArray(c.kept) || c.kept.length !== shape.kvHeads)
      fail(`${at}.kept"`, `an array of ${shape.kvHeads} arrays (one per KV head)`, c.kept);
    const kept = (c.kept as unknown[]).map((row, h) => {
      const ok =
        Array.isArray(row) &&
        row.every(
          (x, k) =>
            Number.isInteger(x) && x >= 0 && x < shape.length && (k === 0 || x > (row[k - 1] as number)),
        );
      if (!ok) fail(`${at}.kept[${h}]"`, `ascending unique integers in [0, ${shape.length})`, row);
      return Int32Array.from(row as number[]);
    });
    let pooledScores: Float32Array | undefined;
    if (c.pooledScores !== undefined) {
      if (typeof c.pooledScores !== 'string')
        fail(`${at}.pooledScores"`, 'a base64 string of float32 values', c.pooledScores);
      pooledScores = decodeF32(c.pooledScores as string, `${path}: ${at}.pooledScores"`);
    }
    return {
      name: c.name as string,
      method: c.method as string,
      params: c.params as Record<string, unknown>,
      ...(c.layer !== undefined ? { layer: c.layer as number } : {}),
      kept,
      ...(pooledScores ? { pooledScores } : {}),
    };
  });
  return { path, name, shape, query, key, checks };
}
