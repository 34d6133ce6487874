import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CpuBackend, compareScores, OptionError, selectTopPrefix, sinksAndRecent } from '../src/index.js';

const cpu = new CpuBackend();

/** Pooling from PyTorch's documented definition: pad with zeros (avg) or -inf (max), then slide. */
function referencePool(row: number[], kernel: number, mode: 'avg' | 'max'): number[] {
  const pad = (kernel - 1) / 2;
  const fill = mode === 'avg' ? 0 : Number.NEGATIVE_INFINITY;
  const padded = [...Array(pad).fill(fill), ...row, ...Array(pad).fill(fill)];
  return row.map((_, i) => {
    const win = padded.slice(i, i + kernel);
    return mode === 'avg' ? win.reduce((a, b) => a + b, 0) / kernel : Math.max(...win);
  });
}

const rowArb = fc.array(fc.float({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true }), {
  minLength: 1,
  maxLength: 40,
});

describe('pool1d', () => {
  it('matches the padded sliding-window definition (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        rowArb,
        fc.integer({ min: 0, max: 6 }),
        fc.constantFrom('avg', 'max') as fc.Arbitrary<'avg' | 'max'>,
        async (row, half, mode) => {
          const kernel = 2 * half + 1;
          const got = await cpu.pool1d(cpu.upload(row, [1, row.length], 'f32'), { kernel, mode }).readF32();
          const want = referencePool(row.map(Math.fround), kernel, mode);
          got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 3));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('handles a kernel wider than the row and length 1', async () => {
    const got = await cpu.pool1d(cpu.upload([3], [1, 1], 'f32'), { kernel: 7, mode: 'avg' }).readF32();
    expect(got[0]).toBeCloseTo(3 / 7, 6);
    const mx = await cpu.pool1d(cpu.upload([3, -1], [1, 2], 'f32'), { kernel: 9, mode: 'max' }).readF32();
    expect(Array.from(mx)).toEqual([3, 3]);
  });

  it('rejects even or non-positive kernels and unknown modes', () => {
    const x = cpu.upload([1, 2], [1, 2], 'f32');
    expect(() => cpu.pool1d(x, { kernel: 4, mode: 'avg' })).toThrow(
      /kernel must be an odd positive integer, got 4/,
    );
    expect(() => cpu.pool1d(x, { kernel: 0, mode: 'avg' })).toThrow(OptionError);
    // @ts-expect-error: an unknown mode from untyped input
    expect(() => cpu.pool1d(x, { kernel: 3, mode: 'min' })).toThrow(/mode must be 'avg' or 'max'/);
  });
});

describe('topk', () => {
  it('returns the k best indices, score-descending with ties to the lower index (property)', async () => {
    // Few distinct values, so ties are common.
    const tieRow = fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 50 });
    await fc.assert(
      fc.asyncProperty(fc.oneof(tieRow, rowArb), fc.nat(), async (row, kSeed) => {
        const k = 1 + (kSeed % row.length);
        const got = Array.from(await cpu.topk(cpu.upload(row, [1, row.length], 'f32'), k).readI32());
        const v = row.map(Math.fround);
        expect(new Set(got).size).toBe(k);
        for (let i = 1; i < k; i++) {
          const [a, b] = [got[i - 1]!, got[i]!];
          expect(v[a]! > v[b]! || (v[a] === v[b] && a < b)).toBe(true);
        }
        // Nothing left out beats the last one taken.
        const last = got[k - 1]!;
        v.forEach((s, i) => {
          if (!got.includes(i)) expect(s < v[last]! || (s === v[last] && i > last)).toBe(true);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('works per row, puts NaN last, and validates k', async () => {
    const x = cpu.upload([1, Number.NaN, 3, 2, 0, 5, 5, -1], [2, 4], 'f32');
    expect(Array.from(await cpu.topk(x, 4).readI32())).toEqual([2, 3, 0, 1, 1, 2, 0, 3]);
    expect(() => cpu.topk(x, 5)).toThrow(/k must be an integer in \[1, 4\]/);
    expect(() => cpu.topk(x, 0)).toThrow(OptionError);
    expect(compareScores([Number.NaN, 1], 0, 1)).toBeGreaterThan(0);
  });
});

describe('selection building blocks', () => {
  it('selectTopPrefix keeps per-head budgets plus the window, ascending', async () => {
    const scores = cpu.upload([5, 1, 4, 2, 3, 0, 9, 8, 7, 6], [2, 5], 'f32', 'scores');
    const sel = await selectTopPrefix(cpu, scores, Int32Array.from([2, 3]), 8, 3);
    expect(sel.map((s) => Array.from(s))).toEqual([
      [0, 2, 5, 6, 7],
      [1, 2, 3, 5, 6, 7],
    ]);
    // Budget larger than the prefix keeps the whole prefix; budget 0 keeps the window only.
    const all = await selectTopPrefix(cpu, scores, Int32Array.from([9, 0]), 8, 3);
    expect(all.map((s) => Array.from(s))).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7],
      [5, 6, 7],
    ]);
    await expect(selectTopPrefix(cpu, scores, Int32Array.from([1, 1]), 9, 3)).rejects.toThrow(
      /scores must be \[kvHeads, 6\]/,
    );
  });

  it('sinksAndRecent', () => {
    expect(Array.from(sinksAndRecent(10, 5, 2))).toEqual([0, 1, 7, 8, 9]);
    expect(Array.from(sinksAndRecent(4, 5, 2))).toEqual([0, 1, 2, 3]);
  });
});
