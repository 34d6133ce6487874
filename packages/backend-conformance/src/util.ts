import { type Backend, type DType, decodeHalf, encodeHalf, type Tensor } from '@kvsieve/core';
import { expect } from 'vitest';

/** Deterministic uniform numbers in [lo, hi): tests must be reproducible. */
export function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    array(n: number, lo = -1, hi = 1): Float32Array {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * next();
      return out;
    },
    int(lo: number, hi: number): number {
      return lo + Math.floor(next() * (hi - lo));
    },
  };
}

/** The values a tensor of `dtype` holds after upload (16-bit dtypes round). */
export function asStored(values: Float32Array, dtype: DType): Float32Array {
  return dtype === 'f16' || dtype === 'bf16' ? decodeHalf(encodeHalf(values, dtype), dtype) : values;
}

/**
 * |actual − expected| ≤ atol + rtol·|expected| elementwise, NaN only where NaN is expected; on failure
 * the message names the first bad index.
 */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  rtol: number,
  what: string,
) {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e) || Number.isNaN(a)) {
      if (Number.isNaN(e) !== Number.isNaN(a)) throw new Error(`${what}[${i}]: got ${a}, expected ${e}`);
      continue;
    }
    if (a === e) continue;
    const err = Math.abs(a - e);
    if (!(err <= atol + rtol * Math.abs(e))) {
      throw new Error(
        `${what}[${i}]: got ${a}, expected ${e} (error ${err}, tolerance ${atol + rtol * Math.abs(e)})`,
      );
    }
    worst = Math.max(worst, err);
  }
  return worst;
}

export async function readF32(t: Tensor): Promise<Float32Array> {
  return (await t.read()) as Float32Array;
}

/**
 * A causal cache as raggedAttention reads it: `k, v [m, Hkv, d]` (token-major) become each KV head's
 * m rows at positions 0 … m − 1, and query i of n sits at position m − n + i.
 */
export function causalCache(
  be: Backend,
  k: Float32Array,
  v: Float32Array,
  m: number,
  Hkv: number,
  d: number,
) {
  const headMajor = (x: Float32Array) => {
    const out = new Float32Array(x.length);
    for (let j = 0; j < m; j++)
      for (let h = 0; h < Hkv; h++)
        out.set(x.subarray((j * Hkv + h) * d, (j * Hkv + h + 1) * d), (h * m + j) * d);
    return out;
  };
  const rows = Hkv * m;
  return {
    kv: {
      keys: be.upload(headMajor(k), [rows, d], 'f32'),
      values: be.upload(headMajor(v), [rows, d], 'f32'),
      positions: be.upload(
        Int32Array.from({ length: rows }, (_, r) => r % m),
        [rows],
        'i32',
      ),
      offsets: be.upload(
        Int32Array.from({ length: Hkv }, (_, h) => h * m),
        [Hkv],
        'i32',
      ),
      lengths: be.upload(new Int32Array(Hkv).fill(m), [Hkv], 'i32'),
    },
    qPositions: (n: number) =>
      be.upload(
        Int32Array.from({ length: n }, (_, i) => m - n + i),
        [n],
        'i32',
      ),
  };
}

export type BackendFactory = () => Promise<Backend> | Backend;
