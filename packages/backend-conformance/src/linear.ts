import type { Backend, DType } from '@kvsieve/core';
import { DTypeError, dequantize, encodeHalf, randomQuantized, ShapeError, seededRandom } from '@kvsieve/core';
import { expect, it } from 'vitest';
import { matmulRef, softmaxRef } from './reference.js';
import { asStored, expectClose, readF32, rng } from './util.js';

// Tolerances: f32 results are compared with f64 definitions. Sums of K products get
// atol 2e-6·K (inputs in [-1, 1]); transcendental ops (exp, sin/cos, rsqrt) 2e-6 abs + 2e-5 rel.
// 16-bit inputs are compared after the same rounding the backend stores, so they need no extra slack.

export function linearTests(get: () => Backend) {
  for (const bDType of ['f32', 'f16', 'bf16'] as DType[]) {
    for (const transposeB of [false, true]) {
      it(`matmul with ${bDType} b, transposeB=${transposeB}, odd and tile-crossing sizes`, async () => {
        const be = get();
        const r = rng(11);
        for (const [M, K, N] of [
          [1, 1, 1],
          [3, 5, 7],
          [1, 300, 129],
          [8, 257, 3],
          [9, 17, 300],
          [65, 33, 70],
          [128, 64, 96],
        ] as const) {
          const a = r.array(M * K);
          const b = r.array(K * N);
          const ta = be.upload(a, [M, K], 'f32', 'a');
          const tb = be.upload(b, transposeB ? [N, K] : [K, N], bDType, 'b');
          const got = await readF32(be.matmul(ta, tb, { transposeB }));
          expectClose(
            got,
            matmulRef(a, asStored(b, bDType), M, K, N, transposeB),
            2e-6 * K,
            1e-5,
            `matmul ${M}x${K}x${N}`,
          );
        }
      });
    }
  }

  it('matmul with a residual adds it to the product on every path (GEMV, tiled, 16-bit, quantized)', async () => {
    const be = get();
    const r = rng(13);
    // [M, K, N, b dtype, transposeB]: M ≤ 8 takes the GEMV kernels (K = 512: whole units), M = 65 the tiles.
    const cases: [number, number, number, DType, boolean][] = [
      [1, 512, 37, 'f32', true],
      [3, 512, 37, 'f16', true],
      [1, 512, 37, 'bf16', true],
      [1, 100, 37, 'f16', true],
      [1, 512, 37, 'q8_0', true],
      [2, 512, 37, 'q4_k', true],
      [1, 33, 300, 'f32', false],
      [65, 33, 70, 'f32', false],
      [65, 512, 70, 'q4_k', true],
    ];
    for (const [M, K, N, dtype, transposeB] of cases) {
      const a = r.array(M * K);
      const res = r.array(M * N);
      const quant = dtype === 'q8_0' || dtype === 'q4_k';
      const bytes = quant ? randomQuantized(dtype, [N, K], seededRandom(M + K)) : null;
      const w = bytes ? dequantize(dtype as 'q8_0', bytes, [N, K]) : asStored(r.array(K * N), dtype);
      const tb = be.upload(bytes ?? w, transposeB ? [N, K] : [K, N], dtype, 'w');
      const tr = be.upload(res, [M, N], 'f32', 'residual');
      const got = await readF32(be.matmul(be.upload(a, [M, K], 'f32'), tb, { transposeB, residual: tr }));
      const want = matmulRef(a, w, M, K, N, transposeB).map((v, i) => v + res[i]!);
      expectClose(got, want, 2e-6 * K, 1e-5, `residual + matmul ${M}x${K}x${N} ${dtype}`);
      expectClose(await readF32(tr), res, 0, 0, 'the residual is left as it was');
    }
    const ta = be.upload(r.array(6), [2, 3], 'f32', 'a');
    const tw = be.upload(r.array(12), [4, 3], 'f32', 'w');
    expect(() =>
      be.matmul(ta, tw, { transposeB: true, residual: be.upload(r.array(6), [2, 3], 'f32', 'skip') }),
    ).toThrow(ShapeError);
    expect(() =>
      be.matmul(ta, tw, { transposeB: true, residual: be.upload(r.array(6), [2, 3], 'f32', 'skip') }),
    ).toThrow(/matmul residual: skip dimension 1 \(N\) must be 4/);
    expect(() =>
      be.matmul(ta, tw, { transposeB: true, residual: be.upload(r.array(8), [2, 4], 'f16', 'skip') }),
    ).toThrow(DTypeError);
  });

  it('matmulMany equals one matmul per weight (fused GEMV, mixed dtypes, tiled sizes)', async () => {
    const be = get();
    const r = rng(14);
    const weight = (dtype: DType, N: number, K: number, seed: number) => {
      if (dtype === 'q8_0' || dtype === 'q4_k') {
        const bytes = randomQuantized(dtype, [N, K], seededRandom(seed));
        return { t: be.upload(bytes, [N, K], dtype, 'w'), w: dequantize(dtype, bytes, [N, K]) };
      }
      const w = asStored(r.array(N * K), dtype);
      return { t: be.upload(w, [N, K], dtype, 'w'), w };
    };
    // [M, K, dtypes of the weights]: Q/K/V-like row counts 37, 5, 5 (one GEMV workgroup holds 4–64 rows).
    const cases: [number, number, DType[]][] = [
      [1, 512, ['f32', 'f32', 'f32']],
      [3, 512, ['f16', 'f16', 'f16']],
      [1, 512, ['bf16', 'bf16']],
      [2, 512, ['q8_0', 'q8_0', 'q8_0']],
      [1, 512, ['q4_k', 'q4_k']],
      [1, 100, ['f16', 'f16']],
      [1, 512, ['q4_k', 'f16', 'q8_0']],
      [65, 256, ['f32', 'q4_k']],
      [1, 256, ['f16']],
    ];
    for (const [M, K, dtypes] of cases) {
      const a = r.array(M * K);
      const ws = dtypes.map((dt, i) => weight(dt, [37, 5, 5][i]!, K, M * 10 + i));
      const got = be.matmulMany(
        be.upload(a, [M, K], 'f32', 'a'),
        ws.map((w) => w.t),
      );
      expect(got.length).toBe(ws.length);
      for (const [i, t] of got.entries()) {
        const N = [37, 5, 5][i]!;
        expect(t.shape).toEqual([M, N]);
        expectClose(
          await readF32(t),
          matmulRef(a, ws[i]!.w, M, K, N, true),
          2e-6 * K,
          1e-5,
          `matmulMany ${M}x${K} ${dtypes} #${i}`,
        );
      }
    }
    // With the input norm: rmsnorm(a, g, eps) is what gets multiplied (fused on a GPU where it can be).
    for (const [M, K, dtypes, gType] of [
      [1, 512, ['f16', 'f16', 'f16'], 'f32'],
      [3, 512, ['q4_k', 'q4_k'], 'f32'],
      [1, 512, ['f32'], 'f32'],
      [2, 256, ['f16', 'f16'], 'bf16'],
      [65, 256, ['f32', 'f32'], 'f32'],
    ] as [number, number, DType[], DType][]) {
      const a = r.array(M * K);
      const g = asStored(r.array(K), gType);
      const eps = 1e-5;
      const normed = a.map((v, i) => {
        const row = a.subarray(Math.floor(i / K) * K, Math.floor(i / K) * K + K);
        const ss = row.reduce((s, x) => s + x * x, 0);
        return v * (1 / Math.sqrt(ss / K + eps)) * g[i % K]!;
      });
      const ws = dtypes.map((dt, i) => weight(dt, [37, 5, 5][i]!, K, M * 20 + i));
      const got = be.matmulMany(
        be.upload(a, [M, K], 'f32', 'a'),
        ws.map((w) => w.t),
        { rmsnorm: { weight: be.upload(g, [K], gType, 'norm'), eps } },
      );
      for (const [i, t] of got.entries()) {
        const N = [37, 5, 5][i]!;
        const want = matmulRef(normed, ws[i]!.w, M, K, N, true);
        expectClose(await readF32(t), want, 4e-6 * K, 1e-5, `matmulMany rmsnorm ${M}x${K} ${dtypes} #${i}`);
      }
    }
    const ta = be.upload(r.array(6), [2, 3], 'f32', 'a');
    expect(() => be.matmulMany(ta, [])).toThrow(/no weights given/);
    const w3 = be.upload(r.array(12), [4, 3], 'f32', 'w');
    expect(() =>
      be.matmulMany(ta, [w3], { rmsnorm: { weight: be.upload(r.array(2), [2], 'f32', 'g'), eps: 1e-5 } }),
    ).toThrow(ShapeError);
    expect(() =>
      be.matmulMany(ta, [w3], { rmsnorm: { weight: be.upload(r.array(3), [3], 'f32', 'g'), eps: 0 } }),
    ).toThrow(/eps must be a positive number/);
    expect(() => be.matmulMany(ta, [be.upload(r.array(8), [2, 4], 'f32', 'w')])).toThrow(ShapeError);
  });

  it('swiglu equals siluMul of the two products, with and without the input norm', async () => {
    const be = get();
    const r = rng(15);
    for (const [M, K, dtype, norm] of [
      [1, 512, 'f16', true],
      [1, 512, 'q4_k', false],
      [1, 256, 'f32', true],
      [3, 256, 'f16', true],
    ] as [number, number, DType, boolean][]) {
      const I = 70;
      const a = r.array(M * K);
      const gv = r.array(K);
      const [gate, up] = [0, 1].map((i) => {
        if (dtype === 'q4_k') {
          const bytes = randomQuantized(dtype, [I, K], seededRandom(M + i));
          return { t: be.upload(bytes, [I, K], dtype, 'w'), w: dequantize(dtype, bytes, [I, K]) };
        }
        const w = asStored(r.array(I * K), dtype);
        return { t: be.upload(w, [I, K], dtype, 'w'), w };
      }) as [
        { t: ReturnType<Backend['upload']>; w: Float32Array },
        { t: ReturnType<Backend['upload']>; w: Float32Array },
      ];
      const x = norm
        ? a.map((v, i) => {
            const row = a.subarray(Math.floor(i / K) * K, Math.floor(i / K) * K + K);
            return v * (1 / Math.sqrt(row.reduce((s, y) => s + y * y, 0) / K + 1e-5)) * gv[i % K]!;
          })
        : a;
      const opts = norm ? { rmsnorm: { weight: be.upload(gv, [K], 'f32', 'norm'), eps: 1e-5 } } : {};
      const got = await readF32(be.swiglu(be.upload(a, [M, K], 'f32', 'a'), gate.t, up.t, opts));
      const g = matmulRef(x, gate.w, M, K, I, true);
      const u = matmulRef(x, up.w, M, K, I, true);
      const want = g.map((v, i) => (v / (1 + Math.exp(-v))) * u[i]!);
      expectClose(got, want, 4e-6 * K, 2e-5, `swiglu ${M}x${K} ${dtype} norm=${norm}`);
    }
    const ta = be.upload(r.array(6), [2, 3], 'f32', 'a');
    const w4 = be.upload(r.array(12), [4, 3], 'f32', 'gate');
    const w5 = be.upload(r.array(15), [5, 3], 'f32', 'up');
    expect(() => be.swiglu(ta, w4, w5)).toThrow(
      /swiglu: gate \[4, 3\] and up \[5, 3\] must have the same shape/,
    );
  });

  it('add and mul: same shape, broadcast over the last dim, 16-bit b', async () => {
    const be = get();
    const r = rng(12);
    const a = r.array(3 * 7);
    const b = r.array(3 * 7);
    const v = r.array(7);
    const ta = be.upload(a, [3, 7], 'f32', 'a');
    expectClose(
      await readF32(be.add(ta, be.upload(b, [3, 7], 'f32'))),
      a.map((x, i) => x + b[i]!),
      1e-7,
      1e-7,
      'add',
    );
    expectClose(
      await readF32(be.mul(ta, be.upload(b, [3, 7], 'f32'))),
      a.map((x, i) => x * b[i]!),
      1e-7,
      1e-7,
      'mul',
    );
    expectClose(
      await readF32(be.add(ta, be.upload(v, [7], 'f32'))),
      a.map((x, i) => x + v[i % 7]!),
      1e-7,
      1e-7,
      'add bias',
    );
    const vh = asStored(v, 'bf16');
    expectClose(
      await readF32(be.mul(ta, be.upload(v, [7], 'bf16'))),
      a.map((x, i) => x * vh[i % 7]!),
      1e-7,
      1e-7,
      'mul bf16',
    );
    expect(() => be.add(ta, be.upload(r.array(3), [3], 'f32', 'bad'))).toThrow(
      /bad \[3\] must match a \[3, 7\]/,
    );
  });

  it('scale, siluMul', async () => {
    const be = get();
    const r = rng(13);
    const g = r.array(1001, -20, 20);
    const u = r.array(1001);
    const tg = be.upload(g, [1001], 'f32');
    expectClose(
      await readF32(be.scale(tg, -0.5)),
      g.map((x) => x * -0.5),
      0,
      0,
      'scale',
    );
    const silu = g.map((x, i) => (x / (1 + Math.exp(-x))) * u[i]!);
    expectClose(await readF32(be.siluMul(tg, be.upload(u, [1001], 'f32'))), silu, 2e-6, 2e-5, 'siluMul');
  });

  it('cast rounds to nearest even, bit-exact with core codecs (odd lengths, specials)', async () => {
    const be = get();
    const r = rng(15);
    const special = [
      0,
      -0,
      1,
      -1,
      65504,
      65520,
      1e-8,
      6e-8,
      -3e-5,
      1e5,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      1 / 3,
      2 ** -14,
      2 ** -24,
      2 ** -25,
      3e38,
    ];
    const values = Float32Array.from([
      ...special,
      ...r.array(200, -70000, 70000),
      ...r.array(200, -1e-4, 1e-4),
    ]);
    const t = be.upload(values, [values.length], 'f32');
    for (const to of ['f16', 'bf16'] as const) {
      const half = be.cast(t, to);
      expect(half.dtype).toBe(to);
      const back = await readF32(half);
      expect(Array.from(encodeHalf(back, to))).toEqual(Array.from(encodeHalf(values, to)));
      const round = await readF32(be.cast(half, 'f32'));
      expectClose(round, asStored(values, to), 0, 0, `cast ${to} -> f32`);
    }
    const nan = await readF32(be.cast(be.upload([Number.NaN], [1], 'f32'), 'f16'));
    expect(Number.isNaN(nan[0]!)).toBe(true);
  });

  it('rmsnorm with f32/bf16/f16 weights, D = 1, 7, 300', async () => {
    const be = get();
    const r = rng(16);
    for (const [rows, D] of [
      [1, 1],
      [3, 7],
      [5, 300],
    ] as const) {
      for (const wd of ['f32', 'bf16', 'f16'] as DType[]) {
        const x = r.array(rows * D, -3, 3);
        const w = r.array(D, 0.5, 1.5);
        const ws = asStored(w, wd);
        const expected = new Float64Array(rows * D);
        for (let i = 0; i < rows; i++) {
          let ss = 0;
          for (let c = 0; c < D; c++) ss += x[i * D + c]! ** 2;
          const inv = 1 / Math.sqrt(ss / D + 1e-5);
          for (let c = 0; c < D; c++) expected[i * D + c] = x[i * D + c]! * inv * ws[c]!;
        }
        const got = await readF32(be.rmsnorm(be.upload(x, [rows, D], 'f32'), be.upload(w, [D], wd), 1e-5));
        expectClose(got, expected, 2e-6, 2e-5, `rmsnorm ${rows}x${D} ${wd}`);
      }
    }
  });

  for (const style of ['half', 'interleaved'] as const) {
    it(`rope (${style}) with partial rotation and positions up to 20000`, async () => {
      const be = get();
      const r = rng(17);
      const n = 5;
      const heads = 3;
      const d = 10;
      const half = 4; // features 8 and 9 pass through
      const x = r.array(n * heads * d);
      const pos = [0, 1, 17, 4095, 20000];
      const freq = Float32Array.from({ length: half }, (_, i) => 1 / 10000 ** ((2 * i) / 8));
      const expected = Float64Array.from(x);
      for (let t = 0; t < n; t++)
        for (let i = 0; i < half; i++) {
          const angle = Math.fround(pos[t]! * freq[i]!);
          for (let h = 0; h < heads; h++) {
            const base = (t * heads + h) * d;
            const [i0, i1] =
              style === 'half' ? [base + i, base + i + half] : [base + 2 * i, base + 2 * i + 1];
            expected[i0] = x[i0]! * Math.cos(angle) - x[i1]! * Math.sin(angle);
            expected[i1] = x[i1]! * Math.cos(angle) + x[i0]! * Math.sin(angle);
          }
        }
      const got = await readF32(
        be.rope(
          be.upload(x, [n, heads, d], 'f32'),
          be.upload(pos, [n], 'i32'),
          be.upload(freq, [half], 'f32'),
          style,
        ),
      );
      expectClose(got, expected, 2e-5, 2e-5, `rope ${style}`);
    });
  }

  it('softmax: n = 1, long rows, -Infinity entries and a fully masked row', async () => {
    const be = get();
    const r = rng(18);
    for (const [rows, n] of [
      [1, 1],
      [4, 1000],
      [2, 3],
    ] as const) {
      const x = r.array(rows * n, -30, 30);
      if (n === 3) {
        x[1] = Number.NEGATIVE_INFINITY;
        x.fill(Number.NEGATIVE_INFINITY, 3, 6);
      }
      const got = await readF32(be.softmax(be.upload(x, [rows, n], 'f32')));
      expectClose(got, softmaxRef(x, n), 1e-7, 2e-5, `softmax ${rows}x${n}`);
    }
  });

  it('embedding from f32/f16/bf16 tables', async () => {
    const be = get();
    const r = rng(19);
    const vocab = 11;
    const D = 9;
    const ids = [3, 0, 10, 3];
    for (const dt of ['f32', 'f16', 'bf16'] as DType[]) {
      const table = r.array(vocab * D);
      const stored = asStored(table, dt);
      const expected = ids.flatMap((id) => Array.from(stored.subarray(id * D, id * D + D)));
      const got = await readF32(be.embedding(be.upload(table, [vocab, D], dt), be.upload(ids, [4], 'i32')));
      expectClose(got, expected, 0, 0, `embedding ${dt}`);
    }
  });
}
