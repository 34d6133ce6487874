import {
  type Backend,
  type DType,
  DTypeError,
  IndexError,
  OptionError,
  ShapeError,
  TensorStateError,
} from '@kvsieve/core';
import { expect, it } from 'vitest';
import { asStored, readF32, rng } from './util.js';

const ALL: DType[] = ['f32', 'f16', 'bf16', 'i32', 'u32'];

function sample(dtype: DType, n: number, seed: number): number[] {
  const r = rng(seed);
  if (dtype === 'i32') return Array.from({ length: n }, () => r.int(-1000, 1000));
  if (dtype === 'u32') return Array.from({ length: n }, () => r.int(0, 2 ** 32));
  return Array.from(asStored(r.array(n, -4, 4), dtype));
}

export function rowsTests(get: () => Backend) {
  it('upload/read round trip and zeros for every dtype, odd lengths', async () => {
    const be = get();
    for (const dtype of ALL) {
      for (const n of [1, 3, 1001]) {
        const values = sample(dtype, n, n);
        expect(Array.from(await be.upload(values, [n], dtype).read()), `${dtype} ${n}`).toEqual(values);
        expect(Array.from(await be.zeros([n], dtype).read())).toEqual(new Array(n).fill(0));
      }
    }
    const bits = Uint16Array.from([0x3c00, 0xc000, 0x7bff]);
    expect(Array.from(await be.upload(bits, [3], 'f16').read())).toEqual([1, -2, 65504]);
  });

  it('gatherRows, transpose01, scatterRows for every dtype with odd and even widths', async () => {
    const be = get();
    // Width a·c = 15 (odd: 16-bit rows straddle words) and 8 (16-bit rows are whole words).
    for (const [dtype, [R, a, c]] of ALL.flatMap((d) => [[d, [7, 3, 5]] as const, [d, [7, 2, 4]] as const])) {
      const src = sample(dtype, R * a * c, 40);
      const t = be.upload(src, [R, a, c], dtype, 'src');
      const rows = [6, 0, 0, 3];
      const width = a * c;
      const gathered = await be.gatherRows(t, be.upload(rows, [4], 'i32', 'rows')).read();
      expect(Array.from(gathered), `gather ${dtype}`).toEqual(
        rows.flatMap((i) => src.slice(i * width, i * width + width)),
      );
      const tr = be.transpose01(t);
      expect(tr.shape).toEqual([a, R, c]);
      const expectedT: number[] = [];
      for (let j = 0; j < a; j++)
        for (let i = 0; i < R; i++) expectedT.push(...src.slice((i * a + j) * c, (i * a + j + 1) * c));
      expect(Array.from(await tr.read()), `transpose ${dtype}`).toEqual(expectedT);
      const dst = be.upload(src, [R, a, c], dtype, 'dst');
      const patch = sample(dtype, 2 * width, 41);
      be.scatterRows(dst, be.upload([5, 1], [2], 'i32'), be.upload(patch, [2, a, c], dtype));
      const expectedS = src.slice();
      expectedS.splice(5 * width, width, ...patch.slice(0, width));
      expectedS.splice(1 * width, width, ...patch.slice(width));
      expect(Array.from(await dst.read()), `scatter ${dtype}`).toEqual(expectedS);
    }
  });

  it('scatterRows rounds an f32 src into an f16/bf16 dst bit for bit as cast then scatter', async () => {
    const be = get();
    // Ties (to even, both ways), values that round up or down, overflow to Inf, subnormal halves,
    // underflow to ±0, signed zeros, Inf and NaN, then random values.
    // biome-ignore format: a table of edge cases
    const special = [
      1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -8, 1 + 3 * 2 ** -8, -(1 + 2 ** -11), 65519, 65520,
      -65520, 3.4e38, 2 ** -25, 3 * 2 ** -25, 2 ** -24 + 2 ** -26, 1e-8, -1e-30, 0, -0, Infinity,
      -Infinity, NaN, 0.1, -2.7182817, 1 / 3,
    ];
    const rows = [5, 1, 6];
    // Widths 15 and 1 (odd: 16-bit rows straddle words) and 8 and 22 (rows are whole words).
    for (const dtype of ['f16', 'bf16'] as const) {
      for (const [R, a, c] of [
        [7, 3, 5],
        [7, 1, 1],
        [7, 2, 4],
        [7, 2, 11],
      ] as const) {
        const width = a * c;
        const what = `${dtype} width ${width}`;
        const init = sample(dtype, R * width, 50);
        const src = Float32Array.from(rng(51).array(rows.length * width, -4, 4));
        src.set(special.slice(0, src.length));
        const srcT = be.upload(src, [rows.length, a, c], 'f32', 'src');
        const idx = be.upload(rows, [rows.length], 'i32', 'rows');
        const direct = be.upload(init, [R, a, c], dtype, 'direct');
        be.scatterRows(direct, idx, srcT);
        const viaCast = be.upload(init, [R, a, c], dtype, 'viaCast');
        const cast = be.cast(srcT, dtype);
        be.scatterRows(viaCast, idx, cast);
        const expected = init.slice();
        const rounded = Array.from(asStored(src, dtype));
        rows.forEach((r, i) => {
          expected.splice(r * width, width, ...rounded.slice(i * width, (i + 1) * width));
        });
        const got = Array.from(await direct.read());
        expect(got, what).toEqual(Array.from(await viaCast.read()));
        expect(got, what).toEqual(expected);
        for (const t of [srcT, idx, direct, viaCast, cast]) t.dispose();
      }
    }
    // Every other mismatch is refused, before anything is written.
    const ids = be.upload([0], [1], 'i32', 'ids');
    const mismatches: [DType, DType][] = [
      ['f32', 'f16'],
      ['f32', 'bf16'],
      ['f16', 'bf16'],
      ['bf16', 'f16'],
      ['f16', 'i32'],
      ['i32', 'f16'],
      ['i32', 'f32'],
      ['u32', 'i32'],
    ];
    for (const [dstType, srcType] of mismatches) {
      const dst = be.zeros([2, 4], dstType, 'dst');
      const src = be.zeros([1, 4], srcType, 'src');
      expect(() => be.scatterRows(dst, ids, src), `${srcType} into ${dstType}`).toThrow(ShapeError);
      expect(() => be.scatterRows(dst, ids, src)).toThrow(
        new RegExp(`src is ${srcType}, dst is ${dstType}; src must have dst's dtype`),
      );
      dst.dispose();
      src.dispose();
    }
    ids.dispose();
  });

  it('scatterRowsMany writes every pair exactly as one scatterRows each (cache append shapes)', async () => {
    const be = get();
    const r = rng(43);
    const R = 9;
    const rows = [7, 2, 4];
    // [dst dtype, src dtype, width]: keys f32 into an f16 cache, values f16 copied, positions i32;
    // then bf16 rounding, f32 copies and an odd 16-bit width (scattered one pair at a time).
    for (const pairs of [
      [
        ['f16', 'f32', 8],
        ['f16', 'f16', 8],
        ['i32', 'i32', 1],
      ],
      [
        ['bf16', 'f32', 6],
        ['f32', 'f32', 5],
      ],
      [
        ['f16', 'f16', 5],
        ['f32', 'f32', 3],
        ['i32', 'i32', 1],
      ],
      [['f32', 'f32', 4]],
    ] as [DType, DType, number][][]) {
      const data = pairs.map(([, st, w], i) =>
        st === 'i32' ? sample('i32', 3 * w, 60 + i) : Array.from(r.array(3 * w)),
      );
      const make = () =>
        pairs.map(([dt, st, w], i) => ({
          dst: be.upload(sample(dt, R * w, 50 + i), [R, w], dt, `dst${i}`),
          src: be.upload(data[i]!, [3, w], st, `src${i}`),
        }));
      const one = make();
      const many = make();
      const idx = be.upload(rows, [3], 'i32', 'rows');
      for (const p of one) be.scatterRows(p.dst, idx, p.src);
      be.scatterRowsMany(
        many.map((p) => p.dst),
        idx,
        many.map((p) => p.src),
      );
      for (const [i, p] of many.entries()) {
        expect(Array.from(await p.dst.read()), `pair ${i} of ${JSON.stringify(pairs)}`).toEqual(
          Array.from(await one[i]!.dst.read()),
        );
      }
    }
    const a = be.upload(new Float32Array(8), [4, 2], 'f32', 'a');
    const b = be.upload(new Float32Array(8), [4, 2], 'f32', 'b');
    const src = be.upload(new Float32Array(2), [1, 2], 'f32', 'src');
    const idx = be.upload([0], [1], 'i32', 'rows');
    expect(() => be.scatterRowsMany([a, b], idx, [src])).toThrow(/2 destinations and 1 sources/);
    expect(() => be.scatterRowsMany([a, a], idx, [src, src])).toThrow(/written by two pairs/);
    expect(() => be.scatterRowsMany([a, b], idx, [src, a])).toThrow(ShapeError);
  });

  it('narrow slices the last dimension', async () => {
    const be = get();
    const x = rng(42).array(4 * 9);
    const got = await readF32(be.narrow(be.upload(x, [2, 2, 9], 'f32'), 3, 5));
    const expected: number[] = [];
    for (let r = 0; r < 4; r++) expected.push(...x.slice(r * 9 + 3, r * 9 + 8));
    expect(Array.from(got)).toEqual(expected);
    expect(be.narrow(be.upload(x, [4, 9], 'f32'), 9, 0).shape).toEqual([4, 0]);
  });

  it('bad inputs fail with the same typed errors on every backend', async () => {
    const be = get();
    const m = be.upload(new Float32Array(6), [2, 3], 'f32', 'm');
    expect(() => be.matmul(m, be.upload(new Float32Array(8), [4, 2], 'f32', 'w'))).toThrow(ShapeError);
    expect(() => be.matmul(m, be.upload([1, 2, 3], [3], 'i32', 'w'))).toThrow(DTypeError);
    expect(() => be.topk(m, 4)).toThrow(OptionError);
    expect(() => be.pool1d(m, { kernel: 2, mode: 'avg' })).toThrow(
      /kernel must be an odd positive integer, got 2/,
    );
    expect(() => be.gatherRows(m, be.upload([0, 2], [2], 'i32', 'idx'))).toThrow(IndexError);
    expect(() => be.gatherRows(m, be.upload([0, 2], [2], 'i32', 'idx'))).toThrow(
      /idx\[1\] = 2 is outside \[0, 2\)/,
    );
    expect(() => be.embedding(m, be.upload([-1], [1], 'i32', 'ids'))).toThrow(IndexError);
    expect(() => be.upload([1.5], [1], 'i32', 'ints')).toThrow(/element 0 = 1.5 is not a valid i32/);
    const kv = {
      keys: be.upload(new Float32Array(12), [4, 3], 'f32'),
      values: be.upload(new Float32Array(12), [4, 3], 'f32'),
      positions: be.upload([0, 1, 2, 3], [4], 'i32'),
      offsets: be.upload([0, 3], [2], 'i32'),
      lengths: be.upload([3, 2], [2], 'i32'),
    };
    const q = be.upload(new Float32Array(6), [1, 2, 3], 'f32', 'q');
    expect(() => be.raggedAttention(q, kv, be.upload([3], [1], 'i32'))).toThrow(
      /KV head 1 spans rows \[3, 5\)/,
    );
    const gone = be.upload([1], [1], 'f32', 'gone');
    gone.dispose();
    expect(() => be.scale(gone, 2)).toThrow(TensorStateError);
    await expect(gone.read()).rejects.toThrow(TensorStateError);
  });

  it('liveBytes counts live tensors and drops them on dispose', async () => {
    const be = get();
    const before = be.liveBytes();
    const t = be.zeros([10, 10], 'f32');
    const h = be.zeros([3], 'bf16');
    expect(be.liveBytes() - before).toBe(400 + 6);
    t.dispose();
    h.dispose();
    expect(be.liveBytes()).toBe(before);
  });
}
