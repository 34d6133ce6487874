import { describe, expect, it } from 'vitest';
import {
  CpuBackend,
  createLayerContext,
  METHOD_SPEC,
  OptionError,
  observationScorer,
  pyramidAllocator,
  resolveBudget,
  scoreAllocateSelect,
  uniformAllocator,
  validateBudget,
} from '../src/index.js';
import { randomArray } from './helpers.js';

describe('budgets', () => {
  it('accepts tokens or ratios and never resolves to zero', () => {
    expect(resolveBudget(64, 1000)).toBe(64);
    expect(resolveBudget({ tokens: 64 }, 1000)).toBe(64);
    expect(resolveBudget({ ratio: 0.25 }, 1000)).toBe(250);
    expect(resolveBudget({ ratio: 0.001 }, 100)).toBe(1);
  });

  it.each([0, -5, 2.5, { tokens: 0 }, { ratio: 0 }, { ratio: 1.5 }, { ratio: -0.1 }])('rejects %j', (b) => {
    expect(() => validateBudget(b as never)).toThrow(OptionError);
  });
});

describe('allocators', () => {
  it('reject a window not smaller than the budget, up front', () => {
    expect(() => uniformAllocator({ budget: 32, window: 32 })).toThrow(
      /window \(32\) must be smaller than the budget \(32 tokens\)/,
    );
    expect(() => pyramidAllocator({ budget: 10, window: 0 })).toThrow(
      /window must be a positive integer, got 0/,
    );
    expect(() => pyramidAllocator({ budget: 64, window: 8, beta: 0 })).toThrow(
      /beta must be a positive integer/,
    );
    expect(() => uniformAllocator({ budget: 0, window: 1 })).toThrow(
      /budget must be a positive whole number of tokens, got 0/,
    );
  });

  it('a ratio budget that falls to the window size is reported for that prompt', () => {
    const a = uniformAllocator({ budget: { ratio: 0.1 }, window: 32 });
    expect(() => a.check(200)).toThrow(
      /gives 20 tokens for a 200-token prompt, not more than the window \(32\)/,
    );
    expect(() => a.check(1000)).not.toThrow();
  });

  it('uniform keeps short prompts whole and gives C − w prefix tokens otherwise', () => {
    const a = uniformAllocator({ budget: 64, window: 8 });
    expect(a.allocate({ layer: 0, numLayers: 4, kvHeads: 2, length: 64 })).toBeNull();
    expect(Array.from(a.allocate({ layer: 0, numLayers: 4, kvHeads: 2, length: 65 })!)).toEqual([56, 56]);
  });

  it('pyramid follows the reference schedule (METHODS.md worked example: mean 125.5 for C=128, w=8, N=32)', () => {
    const a = pyramidAllocator({ budget: 128, window: 8 });
    const caps = Array.from(
      { length: 32 },
      (_, l) => a.allocate({ layer: l, numLayers: 32, kvHeads: 1, length: 4096 })![0]!,
    );
    expect(caps.reduce((x, y) => x + y, 0) / 32).toBe(125.5);
    expect(caps[0]).toBe(234);
    expect(caps.every((c, i) => i === 0 || c < caps[i - 1]!)).toBe(true);
    // Between C and 2·(C − w): uniform; below C: everything.
    expect(Array.from(a.allocate({ layer: 5, numLayers: 32, kvHeads: 1, length: 200 })!)).toEqual([120]);
    expect(a.allocate({ layer: 5, numLayers: 32, kvHeads: 1, length: 100 })).toBeNull();
  });
});

describe('scoreAllocateSelect', () => {
  const cpu = new CpuBackend();
  const model = { numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 4 };
  const method = scoreAllocateSelect({
    name: 'snap',
    options: { budget: 6 },
    scorer: observationScorer({ kernel: 3 }),
    allocator: uniformAllocator({ budget: 6, window: 2 }),
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
