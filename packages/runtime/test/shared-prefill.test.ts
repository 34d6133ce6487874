import {
  type CompressionMethod,
  CpuBackend,
  IndexError,
  type LayerContext,
  type LayerDecision,
  METHOD_SPEC,
  OptionError,
  observationScorer,
  scoreAllocateSelect,
} from '@kvsieve/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DecodeSession, loadModel, type Model, SharedPrefillError } from '../src/index.js';
import { TINY, writeHfFolder } from './fixtures/tiny-model.js';

const SHAPE = { ...TINY, layers: 3 };
const PROMPT = Array.from({ length: 23 }, (_, i) => (i * 37 + 11) % 256);

function snap(budget: number, window: number): CompressionMethod {
  return scoreAllocateSelect({
    name: 'test-snap',
    budget,
    window,
    scorer: observationScorer({ pooling: 'avgpool', kernel: 3 }),
  });
}

function custom(
  name: string,
  afterLayer: (ctx: LayerContext) => LayerDecision | Promise<LayerDecision>,
  observe: { window: number; allQueries?: boolean } = { window: 2 },
): CompressionMethod {
  return {
    spec: METHOD_SPEC,
    name,
    options: {},
    begin: () => ({ observe, afterLayer: async (ctx) => afterLayer(ctx) }),
  };
}

const range = (from: number, to: number) => Int32Array.from({ length: to - from }, (_, i) => from + i);

/** Different entries per head, chosen from the window scores (a ragged, score-driven cache). */
const ragged = custom(
  'ragged',
  async (ctx) => {
    const s = await ctx.prefixScores().readF32();
    const n = ctx.length - ctx.window;
    const keep = Array.from({ length: ctx.model.numKvHeads }, (_, h) => {
      const row = Array.from(s.subarray(h * n, (h + 1) * n), (v, i) => ({ v, i }));
      const top = row.sort((a, b) => b.v - a.v || a.i - b.i).slice(0, 3 + h + ctx.layer);
      return Int32Array.from([...top.map((t) => t.i).sort((a, b) => a - b), ...range(n, ctx.length)]);
    });
    return { keep, note: `layer ${ctx.layer} ragged` };
  },
  { window: 3 },
);

/** Reads every query (as H2O does): keeps the tokens whose query rows have the largest sums. */
const allQ = custom(
  'all-queries',
  async (ctx) => {
    const q = await ctx.allQueries!.readF32();
    const d = ctx.model.headDim;
    const sums = Array.from({ length: ctx.length }, (_, t) => {
      let a = 0;
      for (let k = 0; k < d; k++) a += q[t * d + k]!;
      return { a, t };
    });
    const top = sums.sort((x, y) => y.a - x.a || x.t - y.t).slice(0, 6);
    const keep = Int32Array.from(top.map((x) => x.t).sort((a, b) => a - b));
    return { keep: Array.from({ length: ctx.model.numKvHeads }, () => keep) };
  },
  { window: 1, allQueries: true },
);

const windowZero = custom('window-0', () => ({ keep: [range(0, 1), range(0, 1)] }), { window: 0 });
const bigWindow = custom('big-window', (ctx) => ({ keep: [range(0, ctx.window), range(1, ctx.window)] }), {
  window: 100,
});
const propagateAll = custom('propagate-all', (ctx) => ({
  keep: 'all',
  propagate: range(0, ctx.length),
}));
const propagating = custom('propagating', (ctx) =>
  ctx.layer === 1 ? { keep: 'all', propagate: range(ctx.length - 5, ctx.length) } : { keep: 'all' },
);

async function expectSame(a: DecodeSession, b: DecodeSession): Promise<void> {
  expect(a.logits).toEqual(b.logits);
  expect(a.layers).toEqual(b.layers);
  expect(a.cache.bytes()).toBe(b.cache.bytes());
  for (let l = 0; l < SHAPE.layers; l++) {
    const x = a.cache.layer(l);
    const y = b.cache.layer(l);
    expect(x.lengths()).toEqual(y.lengths());
    expect(x.rowOffsets()).toEqual(y.rowOffsets());
    expect(x.capacities()).toEqual(y.capacities());
    expect(await x.positions()).toEqual(await y.positions());
    const vx = x.view();
    const vy = y.view();
    expect(await vx.keys.readF32()).toEqual(await vy.keys.readF32());
    expect(await vx.values.readF32()).toEqual(await vy.values.readF32());
  }
}

describe('startShared', () => {
  let model: Model;
  let backend: CpuBackend;
  beforeAll(async () => {
    backend = new CpuBackend();
    model = await loadModel(writeHfFolder(SHAPE, { seed: 5 }), { backend });
  });
  afterAll(() => model?.dispose());

  it('gives every method exactly what a separate prefill gives it, from one pass', async () => {
    const methods = [snap(10, 4), null, ragged, allQ, windowZero, bigWindow, propagateAll, snap(6, 2), null];
    const before = backend.liveBytes();
    const shared = await model.startShared(PROMPT, methods, { chunkSize: 5 });
    expect(shared.skipped).toEqual([]);
    expect(shared.sessions).toHaveLength(methods.length);
    for (const [i, method] of methods.entries()) {
      const alone = await model.start(PROMPT, { chunkSize: 5, ...(method ? { method } : {}) });
      const mine = shared.sessions[i]!;
      await expectSame(mine, alone);
      // And the caches decode alike.
      const s1 = await mine.step(7);
      const s2 = await alone.step(7);
      expect(s1).toEqual(s2);
      alone.dispose();
    }
    // A method observing no window is still asked (and reads no queries); the propagate-all one
    // reports it as a prefill of its own does.
    expect(shared.sessions[4]!.layers.map((s) => Array.from(s.kept))).toEqual([
      [1, 1],
      [1, 1],
      [1, 1],
    ]);
    expect(shared.sessions[6]!.layers.map((s) => s.propagated)).toEqual([23, 23, 23]);
    // Two null entries own separate caches.
    expect(shared.sessions[1]!.cache).not.toBe(shared.sessions[8]!.cache);
    for (const r of shared.sessions) r!.dispose();
    expect(backend.liveBytes()).toBe(before);
  });

  it('without a null method, keeps no full cache', async () => {
    const before = backend.liveBytes();
    const shared = await model.startShared(PROMPT, [snap(8, 4), snap(6, 2)]);
    expect(shared.sessions[0]!.usedBytes()).toBe(SHAPE.layers * SHAPE.kvHeads * 8 * (2 * 8 * 4 + 4));
    for (const s of shared.sessions) s!.dispose();
    expect(backend.liveBytes()).toBe(before);
  });

  it('rejects a method that propagates fewer tokens, disposing everything built', async () => {
    const before = backend.liveBytes();
    const p = model.startShared(PROMPT, [null, snap(10, 4), propagating]);
    await expect(p).rejects.toThrow(SharedPrefillError);
    await expect(model.startShared(PROMPT, [null, propagating])).rejects.toThrow(
      /method 1 \(propagating\) propagates 5 of 23 tokens past layer 1.*Model\.start alone/,
    );
    expect(backend.liveBytes()).toBe(before);
  });

  it("with onPropagate 'skip', leaves the propagating method out and serves the others", async () => {
    const before = backend.liveBytes();
    const shared = await model.startShared(PROMPT, [snap(10, 4), propagating, null], {
      onPropagate: 'skip',
    });
    expect(shared.sessions[1]).toBeNull();
    expect(shared.skipped).toEqual([{ index: 1, name: 'propagating', layer: 1 }]);
    const alone = await model.start(PROMPT, { method: snap(10, 4) });
    await expectSame(shared.sessions[0]!, alone);
    alone.dispose();
    shared.sessions[0]!.dispose();
    shared.sessions[2]!.dispose();
    expect(backend.liveBytes()).toBe(before);
  });

  it('a failing method or a bad selection disposes every cache and ends every run', async () => {
    const before = backend.liveBytes();
    let disposed = 0;
    const tracked: CompressionMethod = {
      ...snap(10, 4),
      begin(m, p) {
        const run = snap(10, 4).begin(m, p);
        return { ...run, afterLayer: (ctx) => run.afterLayer(ctx), dispose: () => disposed++ };
      },
    };
    const boom = custom('boom', (ctx) => {
      if (ctx.layer === 2) throw new OptionError('boom at layer 2');
      return { keep: 'all' };
    });
    await expect(model.startShared(PROMPT, [tracked, null, boom])).rejects.toThrow('boom at layer 2');
    expect(disposed).toBe(1);
    const bad = custom('bad', () => ({ keep: [range(0, 3), Int32Array.of(2, 1)] }));
    await expect(model.startShared(PROMPT, [null, bad])).rejects.toThrow(IndexError);
    const badPropagate = custom('bad-propagate', () => ({ keep: 'all', propagate: Int32Array.of(0, 1) }));
    await expect(model.startShared(PROMPT, [badPropagate])).rejects.toThrow(/must include the last token/);
    await expect(model.start(PROMPT, { method: badPropagate })).rejects.toThrow(
      /must include the last token/,
    );
    expect(backend.liveBytes()).toBe(before);
  });

  it('rejects bad input with typed errors', async () => {
    await expect(model.startShared(PROMPT, [])).rejects.toThrow(/no methods/);
    await expect(model.startShared([], [null])).rejects.toThrow(/startShared: the prompt is empty/);
    await expect(model.startShared([1, 999], [null])).rejects.toThrow(IndexError);
    const wrongSpec = { ...snap(4, 2), spec: 'kvsieve.method/v0' } as unknown as CompressionMethod;
    await expect(model.startShared(PROMPT, [null, wrongSpec])).rejects.toThrow(
      /method 1 \(test-snap\) implements kvsieve.method\/v0/,
    );
    await expect(
      model.startShared(PROMPT, [null], { onPropagate: 'ignore' as unknown as 'skip' }),
    ).rejects.toThrow(OptionError);
    await expect(model.startShared(PROMPT, [null], { chunkSize: 0 })).rejects.toThrow(/chunkSize/);
  });
});
