import { expectClose } from '@kvsieve/backend-conformance';
import { type AttentionOptions, type Backend, CpuBackend, type DType } from '@kvsieve/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWasmBackend, type WasmBackend } from '../src/index.js';
import { CHUNK_KEYS } from '../src/ops/attention/attention.js';

// Decode-shaped attention (few (query, KV head) pairs, segments longer than CHUNK_KEYS) takes the
// key-split path: chunk states (kv_ragged_attention_part) merged by kv_attention_merge. The shared
// suite's segments are shorter than a chunk, so it is checked here against the CPU reference,
// with the suite's tolerance for ragged attention, and across thread counts bit for bit.

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

interface Case {
  n: number;
  lens: number[];
  /** Each query's position. */
  qpos: number[];
  window?: number;
  dtype: DType;
}

async function attend(be: Backend, c: Case, H: number, d: number): Promise<Float32Array> {
  const r = rng(c.lens.reduce((a, b) => a * 31 + b, c.n));
  const Hkv = c.lens.length;
  const rows = c.lens.reduce((a, b) => a + b, 0);
  const offsets = c.lens.map((_, h) => c.lens.slice(0, h).reduce((a, b) => a + b, 0));
  const kv = {
    keys: be.upload(Float32Array.from({ length: rows * d }, r), [rows, d], c.dtype),
    values: be.upload(Float32Array.from({ length: rows * d }, r), [rows, d], c.dtype),
    // Each head's rows hold positions 0 … len − 1.
    positions: be.upload(
      Int32Array.from(c.lens.flatMap((l) => Array.from({ length: l }, (_, i) => i))),
      [rows],
      'i32',
    ),
    offsets: be.upload(Int32Array.from(offsets), [Hkv], 'i32'),
    lengths: be.upload(Int32Array.from(c.lens), [Hkv], 'i32'),
  };
  const q = be.upload(
    Float32Array.from({ length: c.n * H * d }, () => 4 * r()),
    [c.n, H, d],
    'f32',
  );
  const qp = be.upload(Int32Array.from(c.qpos), [c.n], 'i32');
  const opts: AttentionOptions = c.window === undefined ? {} : { slidingWindow: c.window };
  return (await be.read(be.raggedAttention(q, kv, qp, opts))) as Float32Array;
}

const CASES: Case[] = [
  // Uneven segments: head 2's later chunks are empty, head 1's last is partial.
  { n: 1, lens: [5000, 2049, 1024], qpos: [4999], dtype: 'f16' },
  { n: 1, lens: [5000, 2049, 1024], qpos: [4999], dtype: 'f32' },
  // A window: the early chunks see nothing (their maximum stays -Inf).
  { n: 1, lens: [3000, 3000, 3000], qpos: [2999], window: 700, dtype: 'f16' },
  // An empty segment (zeros) beside long ones; two queries, one seeing only the first 1500 keys.
  { n: 2, lens: [2500, 0, 4100], qpos: [1499, 4099], dtype: 'f16' },
];

describe('ragged attention split over keys (decode shapes)', () => {
  let cpu: CpuBackend;
  let one: WasmBackend;
  let four: WasmBackend;
  beforeAll(async () => {
    cpu = new CpuBackend();
    one = await createWasmBackend({ threads: 1 });
    four = await createWasmBackend({ threads: 4, minThreadWork: 0 });
  });
  afterAll(() => {
    one.destroy();
    four.destroy();
  });

  it('segments longer than a chunk are split', () => {
    expect(Math.max(...CASES.flatMap((c) => c.lens))).toBeGreaterThan(4 * CHUNK_KEYS);
  });

  for (const [k, c] of CASES.entries()) {
    it(`case ${k}: lengths ${c.lens.join('/')}, ${c.dtype} cache${c.window ? `, window ${c.window}` : ''}: the CPU's values, the same bits on 1 and 4 threads`, async () => {
      const [H, d] = [3 * c.lens.length, 64];
      const want = await attend(cpu, c, H, d);
      const got = await attend(one, c, H, d);
      expectClose(got, want, 2e-5, 1e-4, `split attention case ${k}`);
      expect(await attend(four, c, H, d)).toEqual(got);
    });
  }
});
