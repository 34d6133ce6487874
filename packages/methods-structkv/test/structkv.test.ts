import { CpuBackend, createLayerContext, OptionError, type Selection } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import {
  autoComputeSlots,
  centrality,
  createMethod,
  inDegree,
  STRUCTKV_DEFAULTS,
  selectWithWindow,
  structkv,
} from '../src/index.js';

const model = { numLayers: 4, numHeads: 4, numKvHeads: 2, headDim: 4 };

describe('options', () => {
  it('defaults are those of METHODS.md', () => {
    const m = structkv();
    expect(m.name).toBe('structkv');
    expect(m.options).toMatchObject({
      budget: { ratio: 0.1 },
      // 20% (METHODS.md), or the memory budget when that is larger.
      computeBudget: 'auto',
      window: 8,
      decay: 0.9,
      pivot: 'auto',
      weights: [0.2, 0.3, 0.5],
      difference: 'backward',
      noPeak: 'latest',
      windowInBudget: true,
    });
    expect(STRUCTKV_DEFAULTS.window).toBe(8);
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['budget ratio above 1', { budget: { ratio: 1.5 } }, /"budget\.ratio" must be in \(0, 1\], got 1\.5/],
    ['budget ratio 0', { budget: { ratio: 0 } }, /"budget\.ratio"/],
    [
      'computeBudget ratio out of range',
      { computeBudget: { ratio: -0.2 } },
      /"computeBudget\.ratio" must be in/,
    ],
    ['computeBudget not a budget', { computeBudget: 'lots' }, /option "computeBudget" must be/],
    [
      'compute below memory (ratios)',
      { budget: { ratio: 0.3 }, computeBudget: { ratio: 0.2 } },
      /"computeBudget" \(20% of the prompt\) is below the memory budget/,
    ],
    [
      'compute below memory (tokens)',
      { budget: 40, computeBudget: 30 },
      /gives 30 tokens, fewer than the memory budget "budget" \(40 tokens\)/,
    ],
    ['window 0', { window: 0 }, /option "window" must be an integer ≥ 1/],
    [
      'window not below the budget',
      { budget: 8, computeBudget: 16, window: 8 },
      /"window" must be an integer ≥ 1 and ≤ 7/,
    ],
    ['decay 0', { decay: 0 }, /option "decay" must be a number in \(0, 1\], got 0/],
    ['decay above 1', { decay: 1.1 }, /"decay"/],
    ['decay NaN', { decay: Number.NaN }, /"decay"/],
    [
      'pivot word',
      { pivot: 'late' },
      /option "pivot" must be "auto" or a layer index \(an integer ≥ 0\), got "late"/,
    ],
    ['pivot negative', { pivot: -1 }, /"pivot"/],
    ['pivot fraction', { pivot: 1.5 }, /"pivot"/],
    [
      'bounds with a fixed pivot',
      { pivot: 2, maxPivot: 3 },
      /"maxPivot" bounds the automatic pivot, but "pivot" is fixed at 2/,
    ],
    ['empty pivot range', { minPivot: 3, maxPivot: 2 }, /"minPivot" \(3\) is above "maxPivot" \(2\)/],
    ['negative minPivot', { minPivot: -1 }, /"minPivot" must be an integer ≥ 0/],
    ['two weights', { weights: [0.5, 0.5] }, /"weights" must be three finite numbers ≥ 0/],
    ['negative weight', { weights: [0.2, -0.3, 0.5] }, /"weights"/],
    ['zero weights', { weights: [0, 0, 0] }, /not all 0/],
    ['topK ratio', { topK: { ratio: 2 } }, /"topK\.ratio"/],
    ['difference', { difference: 'central' }, /"difference" must be one of "backward", "forward"/],
    ['noPeak', { noPeak: 'first' }, /"noPeak" must be one of "latest", "none"/],
    ['windowInBudget', { windowInBudget: 'yes' }, /"windowInBudget" must be true or false/],
  ];
  for (const [what, opts, message] of bad) {
    it(`rejects ${what}`, () => {
      expect(() => structkv(opts)).toThrow(OptionError);
      expect(() => structkv(opts)).toThrow(message);
    });
  }

  it('createMethod rejects unknown names', () => {
    expect(() => createMethod({ R_KV: 0.1 })).toThrow(/unknown option "R_KV"/);
    expect(createMethod({ budget: { ratio: 0.1 } }).name).toBe('structkv');
  });

  it('checks what depends on the model and the prompt when a run begins', () => {
    expect(() => structkv({ pivot: 4 }).begin(model, { length: 200 })).toThrow(
      /"pivot" is 4, but the model has layers 0\.\.3/,
    );
    expect(() => structkv({ maxPivot: 7 }).begin(model, { length: 200 })).toThrow(/"maxPivot" is 7/);
    // 10% of 50 tokens is 5, not more than the 8-token window it includes: the window shrinks to 2.
    expect(structkv().begin(model, { length: 50 }).observe).toEqual({ window: 2 });
    // Mixed units: compared once the prompt is known.
    expect(() =>
      structkv({ budget: 30, computeBudget: { ratio: 0.1 } }).begin(model, { length: 200 }),
    ).toThrow(
      /"computeBudget" gives 20 tokens, fewer than the memory budget "budget" \(30 tokens\) for a 200-token prompt/,
    );
    expect(() =>
      structkv({ budget: 30, computeBudget: { ratio: 0.1 } }).begin(model, { length: 400 }),
    ).not.toThrow();
  });

  it('defaults computeBudget to 20% or the memory budget, whichever is larger', () => {
    expect(structkv().options.computeBudget).toBe('auto');
    expect(structkv({ computeBudget: 'auto' }).options.computeBudget).toBe('auto');
    expect(autoComputeSlots({ total: 10, prefix: 2 }, 8, true, 100)).toEqual({ total: 20, prefix: 12 });
    expect(autoComputeSlots({ total: 50, prefix: 42 }, 8, true, 100)).toEqual({ total: 50, prefix: 42 });
    // 20% of 30 tokens is 6, inside the 8-token window: the memory budget's slots serve.
    expect(autoComputeSlots({ total: 12, prefix: 4 }, 8, true, 30)).toEqual({ total: 12, prefix: 4 });
    expect(autoComputeSlots({ total: 18, prefix: 10 }, 8, false, 100)).toEqual({ total: 28, prefix: 20 });
    const model = { numLayers: 4, numHeads: 2, numKvHeads: 1, headDim: 8 };
    expect(() => structkv({ budget: { ratio: 0.5 } }).begin(model, { length: 100 })).not.toThrow();
    // 20% of 100 tokens is 20, below the 30-token memory budget: compute follows the budget.
    const run = structkv({ budget: 30, pivot: 1 }).begin(model, { length: 100 });
    expect(run.observe.window).toBe(8);
    // Given explicitly, a compute budget below the memory budget is still refused.
    expect(() =>
      structkv({ budget: 30, computeBudget: { ratio: 0.2 } }).begin(model, { length: 100 }),
    ).toThrow(/"computeBudget" gives 20 tokens, fewer than the memory budget "budget" \(30 tokens\)/);
  });
});

/** Runs the method over synthetic layers (random keys per layer, fixed queries), like a runtime. */
async function drive(opts: Parameters<typeof structkv>[0], L: number) {
  const backend = new CpuBackend();
  const method = structkv(opts);
  const run = method.begin(model, { length: L });
  const w = run.observe.window;
  let positions = Int32Array.from({ length: L }, (_, i) => i);
  const out: {
    n: number;
    keep: Selection | 'all';
    propagate?: Int32Array;
    note?: string;
    s: Float64Array;
  }[] = [];
  for (let layer = 0; layer < model.numLayers; layer++) {
    const n = positions.length;
    const keys = backend.upload(
      Float32Array.from({ length: 2 * n * 4 }, (_, i) =>
        Math.sin(i * 0.37 + layer * 1.3 + (positions[(i >> 2) % n]! % 7)),
      ),
      [2, n, 4],
      'f32',
    );
    const q = backend.upload(
      Float32Array.from({ length: 4 * w * 4 }, (_, i) => Math.cos(i + layer)),
      [4, w, 4],
      'f32',
    );
    const ctx = createLayerContext({ backend, model, layer, keys, windowQueries: q, positions });
    const s = inDegree(await ctx.prefixScores({ reduce: 'sum' }).readF32(), 2, w);
    const d = await run.afterLayer(ctx);
    ctx.release();
    out.push({
      n,
      keep: d.keep,
      ...(d.propagate ? { propagate: d.propagate } : {}),
      ...(d.note ? { note: d.note } : {}),
      s,
    });
    if (d.propagate) positions = Int32Array.from(d.propagate, (i) => positions[i]!);
  }
  return { out, run };
}

describe('decoupled compute and memory selections', () => {
  it('each layer stores its own top in-degree; the pivot propagates the top centrality; both keep the window', async () => {
    const L = 60;
    const { out, run } = await drive({ budget: 10, computeBudget: 20, window: 4, pivot: 1, decay: 0.5 }, L);
    // Before and at the pivot: L tokens; after it: the 20 propagated.
    expect(out.map((o) => o.n)).toEqual([60, 60, 20, 20]);
    expect(out[0]!.propagate).toBeUndefined();
    const window = [56, 57, 58, 59];
    const c = centrality([out[0]!.s, out[1]!.s], 0.5);
    const wantStruct = selectWithWindow(c, 16, 60, 4);
    expect([...out[1]!.propagate!]).toEqual([...wantStruct]);
    expect([...out[1]!.propagate!.slice(-4)]).toEqual(window);
    for (const [l, o] of out.entries()) {
      expect(o.keep).not.toBe('all');
      const keep = o.keep as Selection;
      expect(keep).toHaveLength(2);
      expect([...keep[1]!]).toEqual([...keep[0]!]);
      // I_KV⁽ˡ⁾ = top(S⁽ˡ⁾, 6) ∪ window, in this layer's own index space.
      expect([...keep[0]!]).toEqual([...selectWithWindow(o.s, 6, o.n, 4)]);
      expect(keep[0]!.length, `layer ${l}`).toBe(10);
    }
    // The pivot layer's store was chosen by its own in-degree above (not by the centrality).
    expect(run.pivotReport()).toMatchObject({ pivot: 1, reason: 'fixed', propagated: 20 });
    expect(out[1]!.note).toMatch(
      /pivot L\*=1 \(fixed\); propagating 20 of 60 tokens to layers 2\.\.3; stored 10 of 60/,
    );
    expect(out[2]!.note).toMatch(/after pivot 1: computed 20 tokens; stored 10 of 20/);
  });

  it('windowInBudget false adds the window on top of both budgets', async () => {
    const { out } = await drive(
      { budget: 10, computeBudget: 20, window: 4, pivot: 0, windowInBudget: false },
      60,
    );
    expect(out.map((o) => o.n)).toEqual([60, 24, 24, 24]);
    expect((out[0]!.keep as Selection)[0]!.length).toBe(14);
  });

  it('a compute budget of the whole prompt stores the same as without a pivot', async () => {
    const { out } = await drive({ budget: 10, computeBudget: { ratio: 1 }, window: 4, pivot: 1 }, 60);
    expect(out.map((o) => o.n)).toEqual([60, 60, 60, 60]);
    expect(out[1]!.note).toMatch(/60 tokens fit the compute budget: all propagated/);
  });

  it('a prompt within the memory budget is stored whole, never empty', async () => {
    const { out } = await drive({ budget: 40, computeBudget: 50, window: 4, pivot: 1 }, 30);
    for (const o of out) expect(o.keep).toBe('all');
    // Says so in the words every method uses (found by the conformance matrix).
    for (const o of out) expect(o.note).toMatch(/30 tokens fit the budget: nothing evicted$/);
    // Even a 1-token budget keeps one token per head.
    const one = await drive({ budget: 1, computeBudget: 1, window: 1, pivot: 1, windowInBudget: false }, 30);
    expect(one.out.map((o) => o.n)).toEqual([30, 30, 2, 2]);
    for (const o of one.out) {
      const kept = o.keep === 'all' ? [o.n, o.n] : o.keep.map((h) => h.length);
      expect(kept).toEqual([2, 2]);
    }
  });

  it('auto: statistics of every layer up to the pivot are in the notes', async () => {
    const { out, run } = await drive({ budget: 10, computeBudget: 20, window: 4 }, 60);
    const r = run.pivotReport();
    // 4 layers, backward: the pivot can only be 2 (a peak at layer 2, or the latest allowed).
    expect(r.pivot).toBe(2);
    expect(['peak', 'latest']).toContain(r.reason);
    expect(r.signals).toHaveLength(3);
    for (let l = 0; l <= 2; l++) expect(out[l]!.note).toMatch(/^H=\d+\.\d+ ρ=\S+ V=\S+ T=\S+/);
    expect(out[2]!.note).toMatch(/pivot L\*=2/);
    expect(out.map((o) => o.n)).toEqual([60, 60, 60, 20]);
  });

  it('auto with noPeak "none" and no possible peak propagates nothing', async () => {
    // A range of one layer, [1, 1]: backward peaks are confirmed at layer ≥ 2, so none can occur.
    const { out, run } = await drive(
      { budget: 10, computeBudget: 20, window: 4, minPivot: 1, maxPivot: 1, noPeak: 'none' },
      60,
    );
    expect(run.pivotReport().pivot).toBeNull();
    expect(out.map((o) => o.n)).toEqual([60, 60, 60, 60]);
    expect(out[1]!.note).toMatch(/nothing propagated \(noPeak "none"\)/);
    // The same with 'latest' pivots at layer 1.
    const latest = await drive({ budget: 10, computeBudget: 20, window: 4, minPivot: 1, maxPivot: 1 }, 60);
    expect(latest.run.pivotReport()).toMatchObject({ pivot: 1, reason: 'latest' });
    expect(latest.out.map((o) => o.n)).toEqual([60, 60, 20, 20]);
  });

  it('forward differences confirm the pivot one layer after it and use the centrality up to it', async () => {
    const { out, run } = await drive(
      { budget: 10, computeBudget: 20, window: 4, difference: 'forward', decay: 0.5 },
      60,
    );
    const r = run.pivotReport();
    // 4 layers, forward: default range [1, 1], confirmed at layer 2.
    expect(r.pivot).toBe(1);
    expect(out.map((o) => o.n)).toEqual([60, 60, 60, 20]);
    const c = centrality([out[0]!.s, out[1]!.s], 0.5);
    expect([...out[2]!.propagate!]).toEqual([...selectWithWindow(c, 16, 60, 4)]);
  });
});
