import { CpuBackend, createLayerContext, type DecodeContext, OptionError } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import { H2O_DECODE_DEFAULTS, h2oDecode, MissingInputError } from '../src/index.js';

const model = { numLayers: 1, numHeads: 4, numKvHeads: 2, headDim: 4 };

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a * 1664525 + 1013904223) >>> 0;
    return a / 2 ** 32;
  };
}

describe('h2o decode form', () => {
  it('validates its options at construction, naming the option and the range', () => {
    expect(h2oDecode({ budget: 64 }).options).toEqual({ budget: 64, ...H2O_DECODE_DEFAULTS });
    expect(() => h2oDecode({} as never)).toThrow(/"budget" is required/);
    expect(() => h2oDecode({ budget: 0 })).toThrow(/"budget" must be an integer ≥ 1, got 0/);
    expect(() => h2oDecode({ budget: 8, recent: 8 })).toThrow(/"recent" must be .*≤ 7.*got 8/);
    expect(() => h2oDecode({ budget: 64, slack: 0 })).toThrow(/"slack" must be an integer ≥ 1/);
    expect(() => h2oDecode({ budget: 64, gqaReduce: 'median' as never })).toThrow(
      /"gqaReduce" must be one of/,
    );
    expect(() => h2oDecode({ budget: 64, window: 4 } as never)).toThrow(OptionError);
    expect(h2oDecode({ budget: 40, slack: 8 }).begin(model, { length: 100 }).observe).toEqual({
      window: 32,
      allQueries: true,
      decodeAttention: true,
      decodeCapacity: 48,
    });
  });

  it('accumulates attention on top of the prefill column sums and evicts the lowest outside the recent window', async () => {
    const b = new CpuBackend();
    const L = 4;
    const budget = 5;
    const recent = 2;
    const slack = 2;
    const cap = budget + slack;
    const r = rng(3);
    const keys = b.upload(
      Float32Array.from({ length: 2 * L * 4 }, () => r() * 2 - 1),
      [2, L, 4],
      'f32',
    );
    const allQ = b.upload(
      Float32Array.from({ length: 4 * L * 4 }, () => r() * 2 - 1),
      [4, L, 4],
      'f32',
    );
    const run = h2oDecode({ budget, recent, slack }).begin(model, { length: L });
    const ctx = createLayerContext({
      backend: b,
      model,
      layer: 0,
      keys,
      windowQueries: b.upload(new Float32Array(4 * 2 * 4), [4, 2, 4], 'f32'),
      allQueries: allQ,
      positions: Int32Array.from({ length: L }, (_, i) => i),
    });
    const decision = await run.afterLayer(ctx);
    expect(decision.keep).toBe('all'); // the prompt fits the budget
    // Reference: column sums of every prompt query, summed over each KV head's two query heads.
    const cols = await b.attentionColumnSums(allQ, keys).readF32();
    const score = [0, 1].map((h) =>
      Array.from({ length: L }, (_, i) => cols[2 * h * L + i]! + cols[(2 * h + 1) * L + i]!),
    );
    // Decode reserves `cap` rows per head: the scores must follow the rows to offsets [0, cap].
    const offsets = Int32Array.of(0, cap);
    let lengths = [L, L];
    const decisions: (readonly Int32Array[] | null)[] = [];
    for (let step = 1; step <= 9; step++) {
      lengths = lengths.map((n) => n + 1);
      const mass = new Float32Array(2 * cap);
      [0, 1].forEach((h) => {
        for (let i = 0; i < lengths[h]!; i++) {
          const m = r();
          mass[offsets[h]! + i] = m;
          score[h]![i] = (score[h]![i] ?? 0) + m;
        }
      });
      const attention = [b.upload(mass, [2 * cap], 'f32')];
      const dctx: DecodeContext = {
        step,
        position: L + step - 1,
        backend: b,
        lengths: [Int32Array.from(lengths)],
        offsets: [offsets],
        attention,
      };
      const d = await run.afterDecodeStep!(dctx);
      if (lengths.some((n) => n >= cap)) {
        expect(d, `step ${step}`).toBeDefined();
        const keep = d![0]!;
        decisions.push(keep);
        [0, 1].forEach((h) => {
          const n = lengths[h]!;
          const s = score[h]!;
          const older = Array.from({ length: n - recent }, (_, i) => i)
            .sort((x, y) => s[y]! - s[x]! || x - y)
            .slice(0, budget - recent)
            .sort((x, y) => x - y);
          const want = [...older, ...Array.from({ length: recent }, (_, i) => n - recent + i)];
          expect(Array.from(keep[h]!), `step ${step} head ${h}`).toEqual(want);
          score[h] = want.map((i) => s[i]!); // the runtime moves entry want[j] to entry j
        });
        lengths = keep.map((sel) => sel.length);
      } else {
        expect(d, `step ${step}`).toBeUndefined();
      }
    }
    // Evictions at 7 entries: steps 3, 5, 7 and 9.
    expect(decisions).toHaveLength(4);
    run.dispose?.();
  });

  it('says what is missing when the runtime gives no attention', async () => {
    const b = new CpuBackend();
    const run = h2oDecode({ budget: 5, recent: 2 }).begin(model, { length: 4 });
    const ctx = {
      step: 1,
      position: 4,
      backend: b,
      lengths: [Int32Array.of(5, 5)],
      offsets: [Int32Array.of(0, 5)],
    };
    await expect(run.afterDecodeStep!(ctx)).rejects.toThrow(MissingInputError);
    await expect(run.afterDecodeStep!(ctx)).rejects.toThrow(/observe.decodeAttention/);
    const withAttention = { ...ctx, attention: [b.zeros([10], 'f32')] };
    await expect(run.afterDecodeStep!(withAttention)).rejects.toThrow(/layer 0 had no prefill/);
  });
});
