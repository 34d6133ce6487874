import { OptionError } from '@kvsieve/core';
import { h2o } from '@kvsieve/methods-h2o';
import { snapkv } from '@kvsieve/methods-snapkv';
import { describe, expect, it } from 'vitest';
import { adakv, createMethod, headAdaptiveBudgets } from '../src/index.js';

describe('headAdaptiveBudgets', () => {
  it('moves budget to the head whose attention is spread out, above the floor of the other', () => {
    // Head 0 concentrates on one token; head 1 spreads evenly.
    const scores = Float32Array.from([0.9, 0.02, 0.02, 0.02, 0.02, 0.02, 0.2, 0.2, 0.2, 0.2, 0.1, 0.1]);
    expect(Array.from(headAdaptiveBudgets(scores, 2, 6, Int32Array.from([3, 3]), 0))).toEqual([1, 5]);
    // A floor of ⌊0.67·3⌋ = 2 per head.
    expect(Array.from(headAdaptiveBudgets(scores, 2, 6, Int32Array.from([3, 3]), 0.67))).toEqual([2, 4]);
    // α = 1 is the uniform budget.
    expect(Array.from(headAdaptiveBudgets(scores, 2, 6, Int32Array.from([3, 3]), 1))).toEqual([3, 3]);
  });

  it('keeps the layer total and never exceeds a head', () => {
    const scores = Float32Array.from([5, 4, 3, 0, 0, 0]);
    expect(Array.from(headAdaptiveBudgets(scores, 2, 3, Int32Array.from([2, 2]), 0))).toEqual([3, 1]);
    expect(Array.from(headAdaptiveBudgets(scores, 2, 3, Int32Array.from([5, 5]), 0))).toEqual([3, 3]);
  });

  it('rejects inconsistent inputs', () => {
    expect(() => headAdaptiveBudgets(new Float32Array(5), 2, 3, Int32Array.from([1, 1]), 0.2)).toThrow(
      /5 scores for \[2, 3\]/,
    );
    expect(() => headAdaptiveBudgets(new Float32Array(6), 2, 3, Int32Array.from([1]), 0.2)).toThrow(
      /1 budgets for 2 KV heads/,
    );
  });
});

describe('adakv', () => {
  it('wraps a method without changing it and reports both options', () => {
    const inner = snapkv({ budget: 64, window: 8 });
    const before = { ...inner.options };
    const m = adakv(inner);
    expect(inner.options).toEqual(before);
    expect(m.name).toBe('adakv(snapkv)');
    expect(m.options).toMatchObject({ method: 'snapkv', alpha: 0.2, budget: 64, window: 8 });
    expect(m.scorer).toBe(inner.scorer);
    expect(
      adakv(h2o({ budget: 64, window: 8 })).begin(
        { numLayers: 1, numHeads: 2, numKvHeads: 1, headDim: 4 },
        { length: 100 },
      ).observe,
    ).toEqual({ window: 8, allQueries: true });
  });

  it('rejects a bad alpha, an unknown wrapped method and unknown options', () => {
    const inner = snapkv({ budget: 64, window: 8 });
    expect(() => adakv(inner, { alpha: 1.5 })).toThrow(OptionError);
    expect(() => adakv(inner, { alpha: -0.1 })).toThrow(
      /adakv: option "alpha" must be a number in \[0, 1\], got -0\.1/,
    );
    expect(() => adakv(inner, { floor: 0.2 } as never)).toThrow(/adakv: unknown option "floor"/);
    expect(() => createMethod({ method: 'lru', budget: 64 })).toThrow(
      /adakv: option "method" must be one of "snapkv", "pyramidkv", "h2o", got "lru"/,
    );
    expect(() => createMethod({ budget: 64, windw: 4 })).toThrow(/snapkv: unknown option "windw"/);
    expect(createMethod({ method: 'pyramidkv', budget: 64, window: 8, alpha: 0.5 }).name).toBe(
      'adakv(pyramidkv)',
    );
  });
});
