import {
  type CompressionMethod,
  CpuBackend,
  IndexError,
  type LayerContext,
  type LayerDecision,
  METHOD_SPEC,
  observationScorer,
  type Selection,
  scoreAllocateSelect,
} from '@kvsieve/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { generate, loadModel, type Model } from '../src/index.js';
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

/** Wraps a method to record what each layer's context held and what the method decided. */
function recording(inner: CompressionMethod) {
  const seen: {
    keys: Float32Array;
    windowQueries: Float32Array;
    allQueries?: Float32Array;
    length: number;
    window: number;
    positions: Int32Array;
    decision: LayerDecision;
  }[] = [];
  const method: CompressionMethod = {
    ...inner,
    begin(model, prompt) {
      const run = inner.begin(model, prompt);
      return {
        observe: run.observe,
        async afterLayer(ctx: LayerContext) {
          const decision = await run.afterLayer(ctx);
          seen.push({
            keys: await ctx.keys.readF32(),
            windowQueries: await ctx.windowQueries.readF32(),
            ...(ctx.allQueries ? { allQueries: await ctx.allQueries.readF32() } : {}),
            length: ctx.length,
            window: ctx.window,
            positions: Int32Array.from(ctx.positions),
            decision,
          });
          return decision;
        },
      };
    },
  };
  return { method, seen };
}

function custom(
  afterLayer: (ctx: LayerContext) => LayerDecision,
  observe: { window: number; allQueries?: boolean } = { window: 2 },
): CompressionMethod {
  return {
    spec: METHOD_SPEC,
    name: 'custom',
    options: {},
    begin: () => ({ observe, afterLayer: async (ctx) => afterLayer(ctx) }),
  };
}

describe('per-layer compression during prefill', () => {
  let model: Model;
  let backend: CpuBackend;
  beforeAll(async () => {
    backend = new CpuBackend();
    model = await loadModel(writeHfFolder(SHAPE, { seed: 5 }), { backend });
  });

  it('sees each layer’s full post-RoPE keys, applies the selection at once, and leaves prefill logits unchanged', async () => {
    const full = await model.start(PROMPT);
    const { method, seen } = recording(snap(10, 4));
    const pre = await model.start(PROMPT, { method, chunkSize: 5 });
    expect(pre.logits).toEqual(full.logits);
    expect(seen).toHaveLength(SHAPE.layers);
    for (let l = 0; l < SHAPE.layers; l++) {
      const fullKeys = full.cache.layer(l).headMajor('keys').tensor;
      expect(seen[l]!.keys).toEqual(await fullKeys.readF32());
      expect(seen[l]!.window).toBe(4);
      const keep = seen[l]!.decision.keep as Selection;
      expect(keep).not.toBe('all');
      const positions = await pre.cache.layer(l).positions();
      keep.forEach((sel, h) => expect(Array.from(positions[h]!)).toEqual(Array.from(sel)));
      expect(Array.from(pre.layers[l]!.kept)).toEqual(keep.map((s) => s.length));
      expect(Array.from(pre.layers[l]!.kept)).toEqual([10, 10]);
    }
    expect(pre.cache.usedBytes()).toBeLessThan(full.cache.usedBytes());
    full.dispose();
    pre.dispose();
  });

  it('window queries are the last w rows of all queries, whatever the chunking', async () => {
    const q: Float32Array[] = [];
    for (const chunkSize of [3, 256]) {
      const { method, seen } = recording(custom(() => ({ keep: 'all' }), { window: 6, allQueries: true }));
      const pre = await model.start(PROMPT, { method, chunkSize });
      pre.dispose();
      const { windowQueries, allQueries, length } = seen[1]!;
      const H = SHAPE.heads;
      const d = SHAPE.hidden / H;
      for (let h = 0; h < H; h++) {
        const rowW = windowQueries.subarray(h * 6 * d, (h + 1) * 6 * d);
        const rowA = allQueries!.subarray((h * length + length - 6) * d, (h * length + length) * d);
        expect(rowW).toEqual(rowA);
      }
      q.push(windowQueries);
    }
    expect(q[0]).toEqual(q[1]);
  });

  it('keeping everything explicitly gives the same decode as no method; a real budget changes it', async () => {
    const all = custom((ctx) => ({
      keep: Array.from({ length: SHAPE.kvHeads }, () => Int32Array.from({ length: ctx.length }, (_, i) => i)),
    }));
    const a = await collect(model, {});
    const b = await collect(model, { method: all });
    const c = await collect(model, { method: snap(8, 3) });
    expect(b.tokens).toEqual(a.tokens);
    expect(c.summary.cache.keptBytes).toBeLessThan(a.summary.cache.keptBytes);
    expect(c.summary.prefill.layers.every((l) => l.kept.every((k) => k === 8))).toBe(true);
  });

  it('peak memory: each layer is compacted before the next one runs', async () => {
    const live: number[][] = [[], []];
    for (const [i, method] of [undefined, snap(6, 2)].entries()) {
      const base = backend.liveBytes();
      const pre = await model.start(PROMPT, {
        ...(method ? { method } : {}),
        onLayer: () => live[i]!.push(backend.liveBytes() - base),
      });
      pre.dispose();
    }
    // Without a method every finished layer holds its whole prompt; with one, only the kept entries.
    const perLayerFull = live[0]![1]! - live[0]![0]!;
    const perLayerKept = live[1]![1]! - live[1]![0]!;
    // (+ the layer's device-side offsets and lengths, cached by its last attention read.)
    expect(perLayerFull).toBe(
      SHAPE.kvHeads * PROMPT.length * (2 * (SHAPE.hidden / SHAPE.heads) * 4 + 4) + 2 * SHAPE.kvHeads * 4,
    );
    expect(perLayerKept).toBe(SHAPE.kvHeads * 6 * (2 * (SHAPE.hidden / SHAPE.heads) * 4 + 4));
    expect(Math.max(...live[1]!)).toBeLessThan(Math.max(...live[0]!));
  });

  it('records notes, and clamps the window to short prompts', async () => {
    const { method, seen } = recording(snap(50, 40));
    const pre = await model.start(PROMPT, { method });
    expect(seen[0]!.window).toBe(PROMPT.length);
    expect(pre.layers[0]!.note).toMatch(/fit the budget/);
    expect(Array.from(pre.layers[0]!.kept)).toEqual([PROMPT.length, PROMPT.length]);
    pre.dispose();
  });

  it('structural propagation: deeper layers compute only on the propagated tokens at their original positions', async () => {
    const keepOdd = Int32Array.from({ length: 12 }, (_, i) => 2 * i);
    keepOdd[11] = PROMPT.length - 1;
    const method = custom((ctx) => (ctx.layer === 0 ? { keep: 'all', propagate: keepOdd } : { keep: 'all' }));
    const pre = await model.start(PROMPT, { method });
    expect(pre.layers.map((l) => l.tokens)).toEqual([PROMPT.length, 12, 12]);
    expect(pre.layers[0]!.propagated).toBe(12);
    for (const l of [1, 2]) {
      for (const p of await pre.cache.layer(l).positions())
        expect(Array.from(p)).toEqual(Array.from(keepOdd));
    }
    pre.dispose();
    // Propagating at the last layer changes nothing the logits depend on.
    const last = custom((ctx) =>
      ctx.layer === SHAPE.layers - 1
        ? { keep: 'all', propagate: Int32Array.of(ctx.length - 1) }
        : { keep: 'all' },
    );
    const full = await model.start(PROMPT);
    const cut = await model.start(PROMPT, { method: last });
    expect(cut.logits).toEqual(full.logits);
    full.dispose();
    cut.dispose();
  });

  it('bad decisions and methods fail with typed errors and free the cache', async () => {
    const live = backend.liveBytes();
    const unsorted = custom(() => ({ keep: [Int32Array.of(3, 1), Int32Array.of(0)] }));
    await expect(model.start(PROMPT, { method: unsorted })).rejects.toThrow(IndexError);
    const noLast = custom(() => ({ keep: 'all', propagate: Int32Array.of(0, 1) }));
    await expect(model.start(PROMPT, { method: noLast })).rejects.toThrow(
      /must include the last token \(22\)/,
    );
    const wrongSpec = {
      ...custom(() => ({ keep: 'all' })),
      spec: 'kvsieve.method/v0',
    } as unknown as CompressionMethod;
    await expect(model.start(PROMPT, { method: wrongSpec })).rejects.toThrow(
      /implements kvsieve\.method\/v0/,
    );
    expect(backend.liveBytes()).toBe(live);
  });

  it('applies decode-time decisions from afterDecodeStep', async () => {
    const method: CompressionMethod = {
      spec: METHOD_SPEC,
      name: 'decode-budget',
      options: {},
      begin: () => ({
        observe: { window: 1 },
        afterLayer: async () => ({ keep: 'all' }),
        async afterDecodeStep(ctx) {
          // Keep the 5 most recent entries of layer 0 only.
          const sel = Array.from(ctx.lengths[0]!, (n) =>
            Int32Array.from({ length: Math.min(5, n) }, (_, i) => n - Math.min(5, n) + i),
          );
          return [sel, null, null];
        },
      }),
    };
    const run = await collect(model, { method, maxTokens: 4 });
    expect(run.steps.at(-1)!.cacheBytes[0]).toBeLessThan(run.steps.at(-1)!.cacheBytes[1]!);
  });
});

async function collect(model: Model, opts: Parameters<typeof generate>[2]) {
  const it = generate(model, PROMPT, { maxTokens: 6, stopTokens: [], ...opts });
  const tokens: number[] = [];
  const steps: { cacheBytes: readonly number[] }[] = [];
  for (;;) {
    const r = await it.next();
    if (r.done) return { tokens, steps, summary: r.value };
    tokens.push(r.value.token);
    steps.push(r.value.stats);
  }
}
