import type { Backend } from '@kvsieve/core';
import { expect, it } from 'vitest';
import { topkRef } from './reference.js';
import { expectClose, readF32, rng } from './util.js';

export function selectionTests(get: () => Backend) {
  it('reduceLast and reduceGroups: sum, mean, max', async () => {
    const be = get();
    const r = rng(31);
    const [R, n] = [6, 301];
    const x = r.array(R * n);
    const t = be.upload(x, [R, n], 'f32');
    const rows = (f: (v: number[]) => number) =>
      Array.from({ length: R }, (_, i) => f(Array.from(x.subarray(i * n, i * n + n))));
    const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
    expectClose(await readF32(be.reduceLast(t, 'sum')), rows(sum), 1e-5, 1e-5, 'reduceLast sum');
    expectClose(
      await readF32(be.reduceLast(t, 'mean')),
      rows((v) => sum(v) / n),
      1e-7,
      1e-5,
      'reduceLast mean',
    );
    expectClose(
      await readF32(be.reduceLast(t, 'max')),
      rows((v) => Math.max(...v)),
      0,
      0,
      'reduceLast max',
    );
    for (const op of ['sum', 'mean', 'max'] as const) {
      const g = 3;
      const expected = Array.from({ length: (R / g) * n }, (_, o) => {
        const vals = Array.from({ length: g }, (_, i) => x[(Math.floor(o / n) * g + i) * n + (o % n)]!);
        return op === 'max' ? Math.max(...vals) : sum(vals) / (op === 'mean' ? g : 1);
      });
      expectClose(await readF32(be.reduceGroups(t, g, op)), expected, 1e-7, 1e-6, `reduceGroups ${op}`);
    }
  });

  it('pool1d avg (padding counts) and max, kernels 1/3/7, n = 1/5/100', async () => {
    const be = get();
    const r = rng(32);
    for (const n of [1, 5, 100]) {
      const x = r.array(2 * n);
      for (const kernel of [1, 3, 7]) {
        for (const mode of ['avg', 'max'] as const) {
          const pad = Math.floor(kernel / 2);
          const expected = Array.from({ length: 2 * n }, (_, o) => {
            const row = Math.floor(o / n);
            const i = o % n;
            const vals: number[] = [];
            for (let j = Math.max(0, i - pad); j <= Math.min(n - 1, i + pad); j++) vals.push(x[row * n + j]!);
            return mode === 'max' ? Math.max(...vals) : vals.reduce((a, b) => a + b, 0) / kernel;
          });
          const got = await readF32(be.pool1d(be.upload(x, [2, n], 'f32'), { kernel, mode }));
          expectClose(got, expected, 1e-7, 1e-6, `pool1d n=${n} k=${kernel} ${mode}`);
        }
      }
    }
  });

  it('topk: random rows of odd lengths (across the 2048 block), k = 1 … n', async () => {
    const be = get();
    const r = rng(33);
    for (const [R, n, k] of [
      [1, 1, 1],
      [3, 7, 3],
      [2, 1000, 1000],
      [2, 5000, 64],
      [1, 4099, 4099],
    ] as const) {
      const x = r.array(R * n);
      const got = await be.topk(be.upload(x, [R, n], 'f32'), k).read();
      expect(Array.from(got), `topk ${R}x${n} k=${k}`).toEqual(topkRef(x, n, k));
    }
  });

  it('topk: ties go to the lower index, NaN last, -0 equals +0, infinities', async () => {
    const be = get();
    const row = [
      1,
      Number.NaN,
      3,
      1,
      Number.NEGATIVE_INFINITY,
      3,
      -0,
      0,
      Number.POSITIVE_INFINITY,
      Number.NaN,
      -0,
      1,
    ];
    const x = Float32Array.from([...row, ...[...row].reverse()]);
    const n = row.length;
    const got = await be.topk(be.upload(x, [2, n], 'f32'), n).read();
    const expected = topkRef(x, n, n);
    expect(Array.from(got)).toEqual(expected);
    expect(expected.slice(0, 4)).toEqual([8, 2, 5, 0]);
    // Heavy ties with a small k (selected before sorting): the boundary ties go to the lowest indices.
    const r = rng(34);
    const tied = Float32Array.from({ length: 3 * 1000 }, () => [0, 1, 2, Number.NaN, -1][r.int(0, 5)]!);
    for (const k of [1, 50, 300]) {
      const top = await be.topk(be.upload(tied, [3, 1000], 'f32'), k).read();
      expect(Array.from(top), `tied k=${k}`).toEqual(topkRef(tied, 1000, k));
    }
    // A constant row: indices in order.
    const flat = await be.topk(be.upload(new Float32Array(300).fill(0.5), [1, 300], 'f32'), 300).read();
    expect(Array.from(flat)).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });
}
