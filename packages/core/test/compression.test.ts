import { describe, expect, it } from 'vitest';
import {
  CpuBackend,
  createLayerContext,
  fitPrompt,
  fitReservedToBudget,
  METHOD_SPEC,
  OptionError,
  observationScorer,
  readBudget,
  resolveBudget,
  scoreAllocateSelect,
  uniformAllocator,
} from '../src/index.js';
import { randomArray } from './helpers.js';

describe('budgets', () => {
  it('accepts tokens or ratios and never resolves to zero', () => {
    expect(resolveBudget(64, 1000)).toBe(64);
    expect(resolveBudget({ tokens: 64 }, 1000)).toBe(64);
    expect(resolveBudget({ ratio: 0.25 }, 1000)).toBe(250);
    expect(resolveBudget({ ratio: 0.001 }, 100)).toBe(1);
  });

  it.each([
    0,
    -5,
    2.5,
    '64',
    null,
    [64],
    { tokens: 0 },
    { ratio: 0 },
    { ratio: 1.5 },
    { ratio: -0.1 },
    { tokens: 1, extra: 1 },
  ])('rejects %j', (b) => {
    expect(() => readBudget('m', b)).toThrow(OptionError);
  });

  it('reads every accepted form', () => {
    expect(readBudget('m', 5)).toBe(5);
    expect(readBudget('m', { tokens: 5 })).toEqual({ tokens: 5 });
    expect(readBudget('m', { ratio: 1 })).toEqual({ ratio: 1 });
    expect(() => readBudget('m', undefined)).toThrow('m: option "budget" is required');
  });
});

describe('the budget-vs-window rule', () => {
  const rule = { where: 'm', name: 'window', min: 1 };

  it('refuses a given window not smaller than a budget in tokens, up front', () => {
    expect(() => fitReservedToBudget(rule, 32, 32, true)).toThrow(
      'm: option "window" must be an integer ≥ 1 and ≤ 31 (smaller than the budget of 32 tokens), got 32',
    );
    expect(fitReservedToBudget(rule, 33, 32, true)).toBe(32);
    expect(fitReservedToBudget(rule, { ratio: 0.1 }, 32, true)).toBe(32);
  });

  it('halves a default window that does not fit a budget in tokens', () => {
    expect(fitReservedToBudget(rule, 16, 32, false)).toBe(8);
    expect(fitReservedToBudget(rule, 1, 32, false)).toBe(1);
    expect(fitReservedToBudget({ ...rule, name: 'sinks', min: 0 }, 1, 4, false)).toBe(0);
  });

  it('shrinks the window for a short prompt under a ratio budget, with a note, instead of refusing', () => {
    expect(fitPrompt(rule, { ratio: 0.1 }, 32, 1000)).toEqual({
      capacity: 100,
      compresses: true,
      reserved: 32,
    });
    const short = fitPrompt(rule, { ratio: 0.5 }, 32, 5);
    expect(short).toEqual({
      capacity: 3,
      compresses: true,
      reserved: 1,
      note: 'window 32 shrunk to 1 to fit the budget (50% of the prompt: 3 of 5 tokens)',
    });
    expect(fitPrompt(rule, { ratio: 0.1 }, 32, 200).reserved).toBe(10);
    // Within the budget nothing is evicted, whatever the window.
    expect(fitPrompt(rule, 64, 32, 64)).toEqual({ capacity: 64, compresses: false, reserved: 32 });
    expect(() => fitPrompt(rule, 64, 32, 0)).toThrow('m: prompt length must be a positive integer, got 0');
  });

  it('uniform gives C − w prefix tokens to every head', () => {
    const input = { layer: 0, numLayers: 4, kvHeads: 2, length: 65, capacity: 64, window: 8 };
    expect(Array.from(uniformAllocator.allocate(input))).toEqual([56, 56]);
  });
});

describe('scoreAllocateSelect', () => {
  const cpu = new CpuBackend();
  const model = { numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 4 };
  const method = scoreAllocateSelect({
    name: 'snap',
    budget: 6,
    window: 2,
    scorer: observationScorer({ kernel: 3 }),
  });

  function context(L: number) {
    const w = Math.min(2, L);
    return createLayerContext({
      backend: cpu,
      model,
      layer: 1,
      keys: cpu.upload(randomArray(2 * L * 4, 1), [2, L, 4], 'f32', 'keys'),
      windowQueries: cpu.upload(randomArray(4 * w * 4, 2), [4, w, 4], 'f32', 'q'),
      positions: Int32Array.from({ length: L }, (_, i) => i),
    });
  }

  it('states its spec version and keeps the budget per KV head', async () => {
    expect(method.spec).toBe(METHOD_SPEC);
    const run = method.begin(model, { length: 20 });
    expect(run.observe).toEqual({ window: 2 });
    const ctx = context(20);
    const { keep } = await run.afterLayer(ctx);
    expect(keep).not.toBe('all');
    for (const sel of keep as Int32Array[]) {
      expect(sel.length).toBe(6);
      expect(Array.from(sel.slice(-2))).toEqual([18, 19]);
    }
    ctx.release();
  });

  it('evicts nothing from a prompt within the budget, and says so', async () => {
    const run = method.begin(model, { length: 5 });
    const decision = await run.afterLayer(context(5));
    expect(decision.keep).toBe('all');
    expect(decision.note).toMatch(/5 tokens fit the budget: nothing evicted/);
  });

  it('rejects empty prompts and bad contexts', () => {
    expect(() => method.begin(model, { length: 0 })).toThrow(/prompt length must be a positive integer/);
    expect(() =>
      createLayerContext({
        backend: cpu,
        model,
        layer: 0,
        keys: cpu.zeros([3, 5, 4], 'f32', 'keys'),
        windowQueries: cpu.zeros([4, 2, 4], 'f32'),
        positions: new Int32Array(5),
      }),
    ).toThrow(/keys must be \[2, n, 4\], got \[3, 5, 4\]/);
    expect(() => observationScorer({ kernel: 4 })).toThrow(/kernel must be an odd positive integer/);
    expect(() => observationScorer({ pooling: 'median' as never })).toThrow(
      /pooling must be one of avgpool, maxpool, none/,
    );
  });
});
