import { describe, expect, it } from 'vitest';
import {
  CpuBackend,
  DTypeError,
  decodeHalf,
  encodeHalf,
  IndexError,
  OptionError,
  ShapeError,
  TensorStateError,
} from '../src/index.js';
import { at, maxAbsDiff, randomArray } from './helpers.js';

const cpu = new CpuBackend();
const up = (data: Float32Array | number[], shape: number[], name = 'x') =>
  cpu.upload(data, shape, 'f32', name);
const ints = (data: number[], name = 'idx') => cpu.upload(data, [data.length], 'i32', name);

/** Attention written from its textbook definition over explicit score matrices. */
function referenceAttention(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  n: number,
  m: number,
  H: number,
  Hkv: number,
  d: number,
  visible: (i: number, j: number) => boolean,
): Float32Array {
  const out = new Float32Array(n * H * d);
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / (H / Hkv));
    for (let i = 0; i < n; i++) {
      const s: number[] = [];
      for (let j = 0; j < m; j++) {
        let dot = 0;
        for (let c = 0; c < d; c++) dot += at(q, [n, H, d], i, h, c) * at(k, [m, Hkv, d], j, g, c);
        s.push(visible(i, j) ? dot / Math.sqrt(d) : Number.NEGATIVE_INFINITY);
      }
      const mx = Math.max(...s);
      const e = s.map((x) => Math.exp(x - mx));
      const z = e.reduce((a, b) => a + b, 0);
      for (let c = 0; c < d; c++) {
        let acc = 0;
        for (let j = 0; j < m; j++) acc += (e[j]! / z) * at(v, [m, Hkv, d], j, g, c);
        out[(i * H + h) * d + c] = acc;
      }
    }
  }
  return out;
}

describe('matmul', () => {
  it.each([
    [1, 1, 1],
    [3, 5, 7],
    [17, 33, 9],
  ])('matches the definition for %i×%i · %i×…', async (M, K, N) => {
    const a = randomArray(M * K, 1);
    const b = randomArray(K * N, 2);
    const got = await cpu.matmul(up(a, [M, K]), up(b, [K, N])).readF32();
    const want = Float32Array.from({ length: M * N }, (_, idx) => {
      const i = Math.floor(idx / N);
      const j = idx % N;
      let s = 0;
      for (let k = 0; k < K; k++) s += a[i * K + k]! * b[k * N + j]!;
      return s;
    });
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
    // transposeB over the explicit transpose
    const bt = Float32Array.from({ length: K * N }, (_, idx) => b[(idx % K) * N + Math.floor(idx / K)]!);
    const got2 = await cpu.matmul(up(a, [M, K]), up(bt, [N, K]), { transposeB: true }).readF32();
    expect(maxAbsDiff(got2, want)).toBeLessThan(1e-5);
  });

  it('accepts f16 and bf16 weights (decoded exactly)', async () => {
    const a = randomArray(6, 3);
    const b = randomArray(12, 4);
    for (const dt of ['f16', 'bf16'] as const) {
      const bits = encodeHalf(b, dt);
      const decoded = decodeHalf(bits, dt);
      const got = await cpu.matmul(up(a, [2, 3]), cpu.upload(bits, [3, 4], dt, 'w')).readF32();
      const want = await cpu.matmul(up(a, [2, 3]), up(decoded, [3, 4])).readF32();
      expect(Array.from(got)).toEqual(Array.from(want));
    }
  });

  it('names the tensors and dimensions on a mismatch', () => {
    expect(() =>
      cpu.matmul(up(new Float32Array(6), [2, 3], 'acts'), up(new Float32Array(8), [4, 2], 'w')),
    ).toThrow(/matmul: w dimension 0 \(K\) must be 3 to match the other inputs, got 4/);
    expect(() => cpu.matmul(up(new Float32Array(6), [6], 'acts'), up(new Float32Array(6), [6, 1]))).toThrow(
      ShapeError,
    );
    expect(() => cpu.matmul(cpu.upload([1], [1, 1], 'i32', 'ids'), up([1], [1, 1]))).toThrow(DTypeError);
  });
});

describe('pointwise ops', () => {
  it('rmsnorm', async () => {
    const x = randomArray(3 * 8, 5, 3);
    const w = randomArray(8, 6);
    const got = await cpu.rmsnorm(up(x, [3, 8]), up(w, [8], 'w'), 1e-5).readF32();
    for (let r = 0; r < 3; r++) {
      const row = Array.from(x.subarray(r * 8, r * 8 + 8));
      const rms = Math.sqrt(row.reduce((a, v) => a + v * v, 0) / 8 + 1e-5);
      row.forEach((v, i) => expect(got[r * 8 + i]).toBeCloseTo((v / rms) * w[i]!, 5));
    }
    expect(() => cpu.rmsnorm(up(x, [3, 8]), up(w, [8], 'w'), 0)).toThrow(OptionError);
  });

  it('rope rotates pairs as complex numbers, both layouts, with a partial rotary dim', async () => {
    const n = 3;
    const heads = 2;
    const d = 6;
    const x = randomArray(n * heads * d, 7);
    const pos = [0, 5, 1000];
    const freq = [1, 0.1]; // rotates 4 of 6 features
    for (const style of ['half', 'interleaved'] as const) {
      const got = await cpu
        .rope(up(x, [n, heads, d]), ints(pos, 'pos'), up(freq, [2], 'freq'), style)
        .readF32();
      for (let t = 0; t < n; t++) {
        for (let h = 0; h < heads; h++) {
          const base = (t * heads + h) * d;
          for (let i = 0; i < 2; i++) {
            const [a, b] = style === 'half' ? [i, i + 2] : [2 * i, 2 * i + 1];
            const th = Math.fround(pos[t]! * freq[i]!);
            const re = x[base + a]! * Math.cos(th) - x[base + b]! * Math.sin(th);
            const im = x[base + a]! * Math.sin(th) + x[base + b]! * Math.cos(th);
            expect(got[base + a]).toBeCloseTo(re, 5);
            expect(got[base + b]).toBeCloseTo(im, 5);
          }
          expect(got[base + 4]).toBe(x[base + 4]);
          expect(got[base + 5]).toBe(x[base + 5]);
        }
      }
    }
    expect(() => cpu.rope(up(x, [n, heads, d]), ints([0, 1]), up(freq, [2]), 'half')).toThrow(
      /dimension 0 \(n\) must be 3/,
    );
  });

  it('siluMul, softmax, add/mul with broadcast, scale, cast', async () => {
    const g = randomArray(6, 8, 4);
    const u = randomArray(6, 9);
    const s = await cpu.siluMul(up(g, [2, 3]), up(u, [2, 3])).readF32();
    g.forEach((v, i) => expect(s[i]).toBeCloseTo((v / (1 + Math.exp(-v))) * u[i]!, 6));

    const sm = await cpu.softmax(up([1, 2, 3, -1e30, 0, 0], [2, 3])).readF32();
    const z = Math.exp(1) + Math.exp(2) + Math.exp(3);
    expect(sm[0]).toBeCloseTo(Math.exp(1) / z, 6);
    expect(sm[3]).toBeCloseTo(0, 6);
    expect(sm[4]).toBeCloseTo(0.5, 6);

    expect(Array.from(await cpu.add(up([1, 2, 3, 4], [2, 2]), up([10, 20], [2], 'bias')).readF32())).toEqual([
      11, 22, 13, 24,
    ]);
    expect(Array.from(await cpu.mul(up([1, 2, 3, 4], [2, 2]), up([1, 2, 3, 4], [2, 2])).readF32())).toEqual([
      1, 4, 9, 16,
    ]);
    expect(() => cpu.add(up([1, 2, 3, 4], [2, 2]), up([1, 2, 3], [3], 'bias'))).toThrow(
      /bias \[3\] must match/,
    );
    expect(Array.from(await cpu.scale(up([1, -2], [2]), 0.5).readF32())).toEqual([0.5, -1]);
    const c = cpu.cast(up([1 / 3], [1]), 'f16');
    expect(c.dtype).toBe('f16');
    expect((await c.readF32())[0]).toBeCloseTo(1 / 3, 3);
    expect(() => cpu.cast(ints([1]), 'f16')).toThrow(OptionError);
  });
});

describe('attention', () => {
  it.each([
    [1, 1, 2, 2, 4],
    [4, 4, 4, 2, 8],
    [3, 7, 8, 2, 4],
    [5, 5, 6, 1, 3],
  ])(
    'ragged attention over a causal cache n=%i m=%i H=%i Hkv=%i d=%i matches the definition',
    async (n, m, H, Hkv, d) => {
      const q = randomArray(n * H * d, 10 + n, 2);
      const k = randomArray(m * Hkv * d, 20 + m, 2);
      const v = randomArray(m * Hkv * d, 30 + m);
      // The cache holds each KV head's m keys at positions 0 … m − 1; query i sits at m − n + i.
      const headMajor = (x: Float32Array) => cpu.transpose01(up(x, [m, Hkv, d])).reshape([Hkv * m, d]);
      const kv = {
        keys: headMajor(k),
        values: headMajor(v),
        positions: ints(Array.from({ length: Hkv * m }, (_, r) => r % m)),
        offsets: ints(Array.from({ length: Hkv }, (_, h) => h * m)),
        lengths: ints(Array.from({ length: Hkv }, () => m)),
      };
      const qPos = ints(Array.from({ length: n }, (_, i) => m - n + i));
      const got = await cpu.raggedAttention(up(q, [n, H, d]), kv, qPos).readF32();
      const want = referenceAttention(q, k, v, n, m, H, Hkv, d, (i, j) => j <= m - n + i);
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
    },
  );

  it('ragged attention over per-head segments, masked by original positions', async () => {
    const H = 4;
    const d = 4;
    // Head 0 keeps 3 entries, head 1 keeps 5 (its positions are sparse); rows 3..4 are unused capacity.
    const offsets = [0, 5];
    const lengths = [3, 5];
    const positions = [0, 4, 7, 0, 0, 1, 2, 6, 9, 11];
    const rows = 10;
    const keys = randomArray(rows * d, 40, 2);
    const values = randomArray(rows * d, 41);
    const n = 2;
    const q = randomArray(n * H * d, 42, 2);
    const qPos = [7, 9];
    const got = await cpu
      .raggedAttention(
        up(q, [n, H, d], 'q'),
        {
          keys: up(keys, [rows, d], 'keys'),
          values: up(values, [rows, d], 'values'),
          positions: ints(positions, 'positions'),
          offsets: ints(offsets, 'offsets'),
          lengths: ints(lengths, 'lengths'),
        },
        ints(qPos, 'qpos'),
      )
      .readF32();
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / 2);
      // Re-express head g's visible entries as a dense single-KV-head problem and use the definition.
      for (let i = 0; i < n; i++) {
        const rowsVisible = Array.from({ length: lengths[g]! }, (_, j) => offsets[g]! + j).filter(
          (r) => positions[r]! <= qPos[i]!,
        );
        const kk = Float32Array.from(rowsVisible.flatMap((r) => Array.from(keys.subarray(r * d, r * d + d))));
        const vv = Float32Array.from(
          rowsVisible.flatMap((r) => Array.from(values.subarray(r * d, r * d + d))),
        );
        const qq = q.subarray((i * H + h) * d, (i * H + h) * d + d);
        const want = referenceAttention(qq, kk, vv, 1, rowsVisible.length, 1, 1, d, () => true);
        expect(maxAbsDiff(got.subarray((i * H + h) * d, (i * H + h + 1) * d), want)).toBeLessThan(1e-5);
      }
    }
  });

  it('ragged attention rejects segments outside the cache', () => {
    const t = (n: number) => up(new Float32Array(n * 4), [n, 4]);
    expect(() =>
      cpu.raggedAttention(
        up(new Float32Array(8), [1, 2, 4]),
        {
          keys: t(3),
          values: t(3),
          positions: ints([0, 1, 2]),
          offsets: ints([0, 2]),
          lengths: ints([2, 2]),
        },
        ints([5]),
      ),
    ).toThrow(/KV head 1 spans rows \[2, 4\) outside the cache's 3 rows/);
  });

  it('window scores are column sums of the causal softmax over the last w queries', async () => {
    const H = 4;
    const Hkv = 2;
    const L = 9;
    const d = 4;
    for (const w of [1, 3, L]) {
      const qAll = randomArray(L * H * d, 50, 2); // token-major [L, H, d]
      const k = randomArray(L * Hkv * d, 51, 2);
      // Head-major inputs for attentionColumnSums.
      const qh = await cpu.transpose01(up(qAll, [L, H, d])).readF32();
      const kh = await cpu.transpose01(up(k, [L, Hkv, d])).readF32();
      const qWin = Float32Array.from({ length: H * w * d }, (_, idx) => {
        const h = Math.floor(idx / (w * d));
        const rest = idx % (w * d);
        return qh[(h * L + (L - w)) * d + rest]!;
      });
      const got = await cpu.attentionColumnSums(up(qWin, [H, w, d]), up(kh, [Hkv, L, d])).readF32();
      // Attention probabilities from the definition, one-hot values pick out each column.
      for (let h = 0; h < H; h++) {
        for (let j = 0; j < L; j++) {
          let want = 0;
          for (let t = L - w; t < L; t++) {
            const onehot = new Float32Array(L * Hkv * d);
            for (let c = 0; c < d; c++) onehot[(j * Hkv + Math.floor(h / 2)) * d + c] = 1;
            const p = referenceAttention(
              qAll.subarray(t * H * d, (t + 1) * H * d),
              k,
              onehot,
              1,
              L,
              H,
              Hkv,
              d,
              (_, jj) => jj <= t,
            );
            want += p[h * d]!;
          }
          expect(got[h * L + j]).toBeCloseTo(want, 5);
        }
      }
    }
    expect(() =>
      cpu.attentionColumnSums(
        up(new Float32Array(4 * 5 * 2), [4, 5, 2]),
        up(new Float32Array(2 * 3 * 2), [2, 3, 2]),
      ),
    ).toThrow(/window 5 is longer than the sequence \(3\)/);
    expect(() =>
      cpu.attentionColumnSums(
        up(new Float32Array(3 * 1 * 2), [3, 1, 2]),
        up(new Float32Array(2 * 3 * 2), [2, 3, 2]),
      ),
    ).toThrow(/query heads \(3\) must be a positive multiple of KV heads \(2\)/);
  });
});

describe('reductions, gather, layout', () => {
  it('reduceGroups and reduceLast', async () => {
    const x = up([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]);
    expect(Array.from(await cpu.reduceGroups(x, 2, 'sum').readF32())).toEqual([4, 6, 12, 14]);
    expect(Array.from(await cpu.reduceGroups(x, 2, 'mean').readF32())).toEqual([2, 3, 6, 7]);
    expect(Array.from(await cpu.reduceGroups(x, 4, 'max').readF32())).toEqual([7, 8]);
    expect(Array.from(await cpu.reduceLast(x, 'sum').readF32())).toEqual([3, 7, 11, 15]);
    expect(() => cpu.reduceGroups(x, 3, 'sum')).toThrow(/positive divisor of 4 rows, got 3/);
    // @ts-expect-error: an unknown reduction from untyped input
    expect(() => cpu.reduceGroups(x, 2, 'median')).toThrow(/one of sum, mean, max/);
  });

  it('gatherRows/scatterRows/narrow/transpose01/embedding', async () => {
    const src = up([0, 1, 10, 11, 20, 21], [3, 2], 'src');
    expect(Array.from(await cpu.gatherRows(src, ints([2, 0, 2])).readF32())).toEqual([20, 21, 0, 1, 20, 21]);
    expect(() => cpu.gatherRows(src, ints([3], 'rows'))).toThrow(IndexError);
    expect(() => cpu.gatherRows(src, ints([-1], 'rows'))).toThrow(/rows\[0\] = -1 is outside \[0, 3\)/);
    const dst = cpu.zeros([3, 2], 'f32', 'dst');
    cpu.scatterRows(dst, ints([1]), up([5, 6], [1, 2]));
    expect(Array.from(await dst.readF32())).toEqual([0, 0, 5, 6, 0, 0]);
    expect(() => cpu.scatterRows(dst, ints([1]), up([5, 6, 7], [1, 3], 'wide'))).toThrow(
      /wide \[1, 3\] must be \[1, 2\]/,
    );
    expect(Array.from(await cpu.narrow(src, 1, 1).readF32())).toEqual([1, 11, 21]);
    expect(() => cpu.narrow(src, 1, 2)).toThrow(/\[1, 3\) is not inside/);
    const t = await cpu.transpose01(up([1, 2, 3, 4, 5, 6], [3, 2, 1])).readF32();
    expect(Array.from(t)).toEqual([1, 3, 5, 2, 4, 6]);
    const table = cpu.upload(encodeHalf([1, 2, 3, 4], 'bf16'), [2, 2], 'bf16', 'table');
    expect(Array.from(await cpu.embedding(table, ints([1, 0])).readF32())).toEqual([3, 4, 1, 2]);
    expect(() => cpu.embedding(table, ints([2], 'ids'))).toThrow(/ids\[0\] = 2 is outside \[0, 2\)/);
  });
});

describe('tensor lifecycle and uploads', () => {
  it('rejects bad uploads and use after dispose', () => {
    expect(() => cpu.upload([1, 2, 3], [2, 2], 'f32', 'w')).toThrow(
      /upload w: 3 values do not fill shape \[2, 2\] \(4\)/,
    );
    expect(() => cpu.upload([1.5], [1], 'i32', 'ids')).toThrow(/element 0 = 1.5 is not a valid i32/);
    expect(() => cpu.upload(new Uint16Array(1), [1], 'f32', 'bits')).toThrow(DTypeError);
    // @ts-expect-error: an unknown dtype from untyped input
    expect(() => cpu.upload([1], [1], 'f64', 'x')).toThrow(/unknown dtype "f64"/);
    const t = up([1, 2], [2], 'gone');
    const view = t.reshape([1, 2]);
    t.dispose();
    expect(() => cpu.scale(view, 2)).toThrow(TensorStateError);
    expect(() => t.reshape([2])).toThrow(/tensor 'gone' was disposed/);
  });

  it('reshape infers one -1 and checks sizes', () => {
    const t = up(new Float32Array(12), [3, 4]);
    expect(t.reshape([2, -1]).shape).toEqual([2, 6]);
    expect(() => t.reshape([5, -1])).toThrow(ShapeError);
    expect(() => t.reshape([-1, -1])).toThrow(/at most one -1/);
  });

  it('counts live bytes and frees them on dispose', () => {
    const b = new CpuBackend();
    const t = b.zeros([10, 10], 'f32');
    const h = b.zeros([10], 'f16');
    expect(b.liveBytes()).toBe(400 + 20);
    t.dispose();
    h.dispose();
    expect(b.liveBytes()).toBe(0);
  });
});

describe('scatterRows aliasing', () => {
  it('refuses to scatter a tensor into itself (no backend can do that in one pass)', () => {
    const t = up([1, 2, 3, 4], [2, 2], 'cache');
    expect(() => cpu.scatterRows(t, ints([1, 0]), t.reshape([2, 2], 'view'))).toThrow(
      /view and cache share storage/,
    );
  });
});
