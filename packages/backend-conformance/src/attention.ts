import type { Backend } from '@kvsieve/core';
import { expect, it } from 'vitest';
import { attentionMassRef, causalRef, raggedRef, windowRef } from './reference.js';
import { asStored, causalCache, expectClose, readF32, rng } from './util.js';

// Attention outputs are convex combinations of values in [-1, 1]: atol 2e-5 covers f32 dot products
// and exp over d ≤ 64. Window scores are sums of w probabilities: atol 2e-5 · w.

export function attentionTests(get: () => Backend) {
  it('raggedAttention over a causal cache: n = m = 1, GQA ratios 1/2/4, tiles crossed, d = 64, custom scale', async () => {
    const be = get();
    const r = rng(21);
    const cases = [
      [1, 1, 1, 1, 4],
      [5, 9, 4, 2, 8],
      [70, 70, 6, 2, 16],
      [3, 130, 4, 1, 64],
      [2, 40, 3, 3, 5],
    ] as const;
    for (const [n, m, H, Hkv, d] of cases) {
      const q = r.array(n * H * d, -2, 2);
      const k = r.array(m * Hkv * d, -2, 2);
      const v = r.array(m * Hkv * d);
      const scale = d === 5 ? 0.7 : 1 / Math.sqrt(d);
      const cache = causalCache(be, k, v, m, Hkv, d);
      const got = await readF32(
        be.raggedAttention(
          be.upload(q, [n, H, d], 'f32'),
          cache.kv,
          cache.qPositions(n),
          d === 5 ? { scale } : {},
        ),
      );
      expectClose(
        got,
        causalRef(q, k, v, n, m, H, Hkv, d, scale),
        2e-5,
        1e-4,
        `causal n=${n} m=${m} H=${H} Hkv=${Hkv} d=${d}`,
      );
    }
  });

  it('raggedAttention: ragged and empty heads, non-contiguous positions, decode and chunked queries', async () => {
    const be = get();
    const r = rng(22);
    const d = 16;
    const lens = [37, 0, 5];
    const Hkv = lens.length;
    const total = lens.reduce((a, b) => a + b, 0) + 3; // 3 spare rows after the last head
    const off = Int32Array.from([0, 37, 37]);
    const pos = Int32Array.from({ length: total }, () => r.int(0, 60));
    const k = r.array(total * d, -2, 2);
    const v = r.array(total * d);
    for (const qpos of [[59], [10, 30, 59]]) {
      const n = qpos.length;
      const Hq = 2 * Hkv; // G = 2
      const q = r.array(n * Hq * d, -2, 2);
      const kv = {
        keys: be.upload(k, [total, d], 'f32'),
        values: be.upload(v, [total, d], 'f32'),
        positions: be.upload(pos, [total], 'i32'),
        offsets: be.upload(off, [Hkv], 'i32'),
        lengths: be.upload(lens, [Hkv], 'i32'),
      };
      const got = await readF32(
        be.raggedAttention(be.upload(q, [n, Hq, d], 'f32'), kv, be.upload(qpos, [n], 'i32')),
      );
      const expected = raggedRef(
        q,
        k,
        v,
        pos,
        off,
        Int32Array.from(lens),
        Int32Array.from(qpos),
        Hq,
        d,
        1 / Math.sqrt(d),
      );
      expectClose(got, expected, 2e-5, 1e-4, `ragged n=${n}`);
    }
  });

  it('attentionMass: ragged, empty and spare-row heads, GQA, decode and chunked queries, long segment', async () => {
    const be = get();
    const r = rng(24);
    // d, lens, offsets, spare rows at the end, query heads per KV head, query positions
    type Case = readonly [number, readonly number[], readonly number[], number, number, readonly number[]];
    const cases: readonly Case[] = [
      [16, [37, 0, 5], [0, 37, 40], 3, 2, [59]],
      [8, [3, 9], [6, 9], 2, 3, [10, 30, 59]],
      [64, [300], [0], 0, 4, [70]],
      [5, [1], [0], 0, 1, [0]],
      [4, [3], [0], 1, 2, []], // no queries: all zeros
    ];
    for (const [d, lens, offs, spare, G, qp] of cases) {
      const Hkv = lens.length;
      const total = Math.max(...offs.map((o, h) => o + lens[h]!)) + spare;
      const pos = Int32Array.from({ length: total }, () => r.int(0, 60));
      const k = r.array(total * d, -2, 2);
      const off = Int32Array.from(offs);
      const len = Int32Array.from(lens);
      const qpos = Int32Array.from(qp);
      const n = qpos.length;
      const Hq = G * Hkv;
      const q = r.array(n * Hq * d, -2, 2);
      const kv = {
        keys: be.upload(k, [total, d], 'f32'),
        values: be.upload(k, [total, d], 'f32'),
        positions: be.upload(pos, [total], 'i32'),
        offsets: be.upload(off, [Hkv], 'i32'),
        lengths: be.upload(len, [Hkv], 'i32'),
      };
      const scale = d === 5 ? 0.7 : 1 / Math.sqrt(d);
      const got = await readF32(
        be.attentionMass(
          be.upload(q, [n, Hq, d], 'f32'),
          kv,
          be.upload(qpos, [n], 'i32'),
          d === 5 ? { scale } : {},
        ),
      );
      const expected = attentionMassRef(q, k, pos, off, len, qpos, Hq, d, total, scale);
      // Sums of up to n · G probabilities.
      expectClose(got, expected, 2e-5 * n * G, 1e-4, `attentionMass d=${d} lens=${lens.join('/')} n=${n}`);
    }
  });

  it('attentionColumnSums: w = L = 1, GQA, window longer than a tile, L not a multiple of 64, long L', async () => {
    const be = get();
    const r = rng(23);
    const cases = [
      [1, 1, 1, 1, 4],
      [4, 8, 2, 100, 16],
      [2, 70, 1, 70, 8],
      [8, 33, 2, 200, 64],
      [4, 20, 2, 700, 8], // long enough to be split over keys on WebGPU
    ] as const;
    for (const [H, w, Hkv, L, d] of cases) {
      const q = r.array(H * w * d, -2, 2);
      const k = r.array(Hkv * L * d, -2, 2);
      const got = await readF32(
        be.attentionColumnSums(be.upload(q, [H, w, d], 'f32'), be.upload(k, [Hkv, L, d], 'f32')),
      );
      expectClose(
        got,
        windowRef(q, k, H, w, Hkv, L, d, 1 / Math.sqrt(d)),
        2e-5 * w,
        1e-4,
        `window H=${H} w=${w} L=${L}`,
      );
    }
  });

  it('a sliding window and an f16 cache: raggedAttention (decode, split over keys, and chunked), attentionMass, attentionColumnSums', async () => {
    const be = get();
    const r = rng(25);
    const d = 16;
    for (const [kvDtype, window, m] of [
      ['f32', 7, 40],
      ['f16', 0, 40],
      ['f16', 13, 40],
      ['f16', 100, 1100], // decode over many keys: split over keys on WebGPU
    ] as const) {
      const Hkv = 2;
      const lens = [m, m - 3];
      const off = Int32Array.from([0, m]);
      const total = 2 * m - 3;
      // Positions out of order inside a head (a compacted cache), so the window is by position.
      const pos = Int32Array.from({ length: total }, (_, i) => (i < m ? (i * 7) % m : ((i - m) * 5) % m));
      const k = asStored(r.array(total * d, -2, 2), kvDtype);
      const v = asStored(r.array(total * d), kvDtype);
      const kv = {
        keys: be.upload(k, [total, d], kvDtype),
        values: be.upload(v, [total, d], kvDtype),
        positions: be.upload(pos, [total], 'i32'),
        offsets: be.upload(off, [Hkv], 'i32'),
        lengths: be.upload(lens, [Hkv], 'i32'),
      };
      const opts = { slidingWindow: window };
      const label = `${kvDtype} window ${window} m ${m}`;
      // Decode, and (for the short cache) a chunk of queries.
      for (const qp of m > 100 ? [[m - 1]] : [[m - 1], [3, Math.floor(m / 2), m - 1]]) {
        const qpos = Int32Array.from(qp);
        const n = qpos.length;
        const Hq = 2 * Hkv;
        const q = r.array(n * Hq * d, -2, 2);
        const qT = be.upload(q, [n, Hq, d], 'f32');
        const got = await readF32(be.raggedAttention(qT, kv, be.upload(qpos, [n], 'i32'), opts));
        const want = raggedRef(
          q,
          k,
          v,
          pos,
          off,
          Int32Array.from(lens),
          qpos,
          Hq,
          d,
          1 / Math.sqrt(d),
          window,
        );
        expectClose(got, want, 2e-5, 1e-4, `raggedAttention ${label} n=${n}`);
        const mass = await readF32(be.attentionMass(qT, kv, be.upload(qpos, [n], 'i32'), opts));
        const wantMass = attentionMassRef(
          q,
          k,
          pos,
          off,
          Int32Array.from(lens),
          qpos,
          Hq,
          d,
          total,
          1 / Math.sqrt(d),
          window,
        );
        expectClose(mass, wantMass, 2e-5 * n * 2, 1e-4, `attentionMass ${label} n=${n}`);
      }
      const [H, w, L] = [4, 9, Math.min(m, 300)];
      const qw = r.array(H * w * d, -2, 2);
      const kw = asStored(r.array(Hkv * L * d, -2, 2), kvDtype);
      const cols = await readF32(
        be.attentionColumnSums(be.upload(qw, [H, w, d], 'f32'), be.upload(kw, [Hkv, L, d], kvDtype), opts),
      );
      expectClose(
        cols,
        windowRef(qw, kw, H, w, Hkv, L, d, 1 / Math.sqrt(d), window),
        2e-5 * w,
        1e-4,
        `attentionColumnSums ${label}`,
      );
    }
    expect(() =>
      be.attentionColumnSums(
        be.upload(new Float32Array(16), [1, 1, 16], 'f32'),
        be.upload(new Float32Array(16), [1, 1, 16], 'f32'),
        {
          slidingWindow: 1.5,
        },
      ),
    ).toThrow(/slidingWindow must be a whole number/);
  });
}
