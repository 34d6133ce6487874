import { CpuBackend, createLayerContext, type LayerContext, METHOD_SPEC, OptionError } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import { CHUNKKV_DEFAULTS, chunkkv, createMethod } from '../src/index.js';

const backend = new CpuBackend();

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

interface Model {
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
}

interface HostLayer {
  q: Float32Array; // [H, L, d]
  k: Float32Array; // [Hkv, L, d]
}

function randomLayer(m: Model, L: number, rand: () => number): HostLayer {
  const q = Float32Array.from({ length: m.numHeads * L * m.headDim }, () => 3 * rand());
  const k = Float32Array.from({ length: m.numKvHeads * L * m.headDim }, () => 3 * rand());
  return { q, k };
}

function context(m: Model, layer: number, L: number, w: number, h: HostLayer) {
  const d = m.headDim;
  const wq = new Float32Array(m.numHeads * w * d);
  for (let head = 0; head < m.numHeads; head++)
    wq.set(h.q.subarray((head * L + L - w) * d, (head * L + L) * d), head * w * d);
  return createLayerContext({
    backend,
    model: m,
    layer,
    keys: backend.upload(h.k, [m.numKvHeads, L, d], 'f32'),
    windowQueries: backend.upload(wq, [m.numHeads, w, d], 'f32'),
    positions: Int32Array.from({ length: L }, (_, i) => i),
  });
}

/** Plain-loop ChunkKV written from the spec, in f64, independent of the package's code. */
function reference(
  m: Model,
  L: number,
  w: number,
  C: number,
  c: number,
  leftover: boolean,
  h: HostLayer,
): number[] {
  const d = m.headDim;
  const G = m.numHeads / m.numKvHeads;
  const P = L - w;
  const tok = new Array<number>(P).fill(0);
  for (let head = 0; head < m.numHeads; head++) {
    const kv = Math.floor(head / G);
    for (let t = 0; t < w; t++) {
      const qi = L - w + t;
      const logits: number[] = [];
      for (let j = 0; j <= qi; j++) {
        let dot = 0;
        for (let x = 0; x < d; x++) dot += h.q[(head * L + qi) * d + x]! * h.k[(kv * L + j) * d + x]!;
        logits.push(dot / Math.sqrt(d));
      }
      const mx = Math.max(...logits);
      const e = logits.map((v) => Math.exp(v - mx));
      const z = e.reduce((a, b) => a + b, 0);
      for (let j = 0; j < P; j++) tok[j]! += e[j]! / z;
    }
  }
  const chunks: { start: number; end: number; score: number }[] = [];
  for (let start = 0; start < P; start += c) {
    const end = Math.min(P, start + c);
    const part = tok.slice(start, end);
    chunks.push({ start, end, score: (part.reduce((a, b) => a + b, 0) / part.length) * c });
  }
  const ranked = [...chunks].sort((a, b) => b.score - a.score || a.start - b.start);
  const kept = new Set<number>();
  for (const ch of ranked.slice(0, Math.floor((C - w) / c)))
    for (let j = ch.start; j < ch.end; j++) kept.add(j);
  if (leftover) {
    const rest = tok
      .map((score, j) => ({ score, j }))
      .filter((x) => !kept.has(x.j))
      .sort((a, b) => b.score - a.score || a.j - b.j);
    const room = C - w - kept.size;
    for (const x of rest.slice(0, room)) kept.add(x.j);
  }
  for (let j = P; j < L; j++) kept.add(j);
  return [...kept].sort((a, b) => a - b);
}

describe('chunkkv selection', () => {
  const cases: [Model, number, number, number, number, 'tokens' | 'unused'][] = [
    // model, L, window, budget, chunkSize, leftover
    [{ numLayers: 1, numHeads: 4, numKvHeads: 2, headDim: 8 }, 53, 4, 24, 5, 'tokens'], // partial chunk, leftover
    [{ numLayers: 1, numHeads: 4, numKvHeads: 2, headDim: 8 }, 53, 4, 24, 5, 'unused'],
    [{ numLayers: 1, numHeads: 8, numKvHeads: 2, headDim: 4 }, 40, 6, 20, 3, 'tokens'], // G = 4
    [{ numLayers: 1, numHeads: 3, numKvHeads: 3, headDim: 6 }, 64, 8, 40, 10, 'tokens'], // MHA, P = 56
    [{ numLayers: 1, numHeads: 6, numKvHeads: 1, headDim: 8 }, 31, 2, 12, 1, 'tokens'], // MQA, token-level
    [{ numLayers: 1, numHeads: 2, numKvHeads: 1, headDim: 16 }, 100, 5, 29, 24, 'unused'], // one chunk
  ];
  it.each(cases)(
    '%j L=%i w=%i C=%i c=%i leftover %s matches a plain-loop reference',
    async (m, L, w, C, c, lo) => {
      const rand = rng(L * 31 + c);
      for (let rep = 0; rep < 3; rep++) {
        const h = randomLayer(m, L, rand);
        const run = chunkkv({ budget: C, window: w, chunkSize: c, leftover: lo }).begin(m, { length: L });
        const ctx = context(m, 0, L, w, h);
        const decision = await run.afterLayer(ctx);
        ctx.release();
        const want = reference(m, L, w, C, c, lo === 'tokens', h);
        if (decision.keep === 'all') throw new Error('expected a selection');
        expect(decision.keep).toHaveLength(m.numKvHeads);
        for (const head of decision.keep) expect([...head]).toEqual(want);
        if (lo === 'tokens') expect(want).toHaveLength(C);
      }
    },
  );

  it('keeps everything, with the note, when the prompt fits the budget', async () => {
    const m = { numLayers: 1, numHeads: 2, numKvHeads: 1, headDim: 4 };
    const run = chunkkv({ budget: 20, window: 4 }).begin(m, { length: 20 });
    const ctx = context(m, 0, 20, 4, randomLayer(m, 20, rng(1)));
    expect(await run.afterLayer(ctx)).toEqual({
      keep: 'all',
      note: '20 tokens fit the budget: nothing evicted',
    });
    ctx.release();
  });
});

describe('chunkkv layer-wise index reuse', () => {
  const m = { numLayers: 7, numHeads: 4, numKvHeads: 2, headDim: 8 };
  const L = 60;
  const w = 4;

  /** A context whose scores throw, counting every attempt, to prove a layer did not score. */
  function guarded(ctx: LayerContext, calls: number[]): LayerContext {
    return {
      ...ctx,
      prefixScores: (o) => {
        calls.push(ctx.layer);
        return ctx.prefixScores(o);
      },
      windowColumnSums: () => {
        calls.push(ctx.layer);
        return ctx.windowColumnSums();
      },
    };
  }

  it.each([1, 2, 3])(
    'reuse %i: only the first layer of each group scores; the others copy its positions',
    async (reuse) => {
      const rand = rng(7 + reuse);
      const run = chunkkv({ budget: 25, window: w, chunkSize: 4, reuse }).begin(m, { length: L });
      const calls: number[] = [];
      const keeps: Int32Array[][] = [];
      const alone: number[][] = [];
      for (let l = 0; l < m.numLayers; l++) {
        const h = randomLayer(m, L, rand);
        const ctx = context(m, l, L, w, h);
        const d = await run.afterLayer(guarded(ctx, calls));
        ctx.release();
        if (d.keep === 'all') throw new Error('expected a selection');
        keeps.push(d.keep as Int32Array[]);
        alone.push(reference(m, L, w, 25, 4, true, h));
      }
      const firsts = [0, 1, 2, 3, 4, 5, 6].filter((l) => l % reuse === 0);
      expect([...new Set(calls)]).toEqual(firsts);
      for (let l = 0; l < m.numLayers; l++) {
        const leader = l - (l % reuse);
        for (const head of keeps[l]!) expect([...head]).toEqual(alone[leader]);
      }
    },
  );

  it('a reuse layer never calls attentionColumnSums (a context that throws on scoring)', async () => {
    const run = chunkkv({ budget: 25, window: w, chunkSize: 4, reuse: 3 }).begin(m, { length: L });
    const rand = rng(99);
    for (let l = 0; l < 3; l++) {
      const ctx = context(m, l, L, w, randomLayer(m, L, rand));
      const view: LayerContext =
        l === 0
          ? ctx
          : {
              ...ctx,
              prefixScores: () => {
                throw new Error(`layer ${l} scored`);
              },
              windowColumnSums: () => {
                throw new Error(`layer ${l} scored`);
              },
            };
      await expect(run.afterLayer(view)).resolves.toHaveProperty('keep');
      ctx.release();
    }
  });

  it('a reuse layer holding a different token count scores for itself', async () => {
    const run = chunkkv({ budget: 25, window: w, chunkSize: 4, reuse: 2 }).begin(m, { length: L });
    const rand = rng(5);
    const a = context(m, 0, L, w, randomLayer(m, L, rand));
    await run.afterLayer(a);
    a.release();
    const h = randomLayer(m, 50, rand);
    const b = context(m, 1, 50, w, h);
    const d = await run.afterLayer(b);
    b.release();
    expect([...(d.keep as Int32Array[])[0]!]).toEqual(reference(m, 50, w, 25, 4, true, h));
  });
});

describe('chunkkv options', () => {
  const model = { numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 8 };

  it('fills the defaults and reports them', () => {
    const m = chunkkv({ budget: 64 });
    expect(m.spec).toBe(METHOD_SPEC);
    expect(m.name).toBe('chunkkv');
    expect(m.options).toEqual({ budget: 64, ...CHUNKKV_DEFAULTS });
    expect(CHUNKKV_DEFAULTS).toEqual({ window: 32, chunkSize: 10, reuse: 1, leftover: 'tokens' });
    expect(m.begin(model, { length: 100 }).observe).toEqual({ window: 32 });
    expect(chunkkv({ budget: { ratio: 0.5 }, window: 8 }).options.budget).toEqual({ ratio: 0.5 });
  });

  it.each([
    [{ budget: 0 }, /chunkkv: option "budget" must be a whole number of tokens ≥ 1/],
    [{}, /chunkkv: option "budget" is required/],
    [{ budget: 64, window: 64 }, /chunkkv: option "window" must be an integer ≥ 1 and ≤ 63/],
    [
      { budget: 40, window: 8, chunkSize: 0 },
      /chunkkv: option "chunkSize" must be an integer ≥ 1 and ≤ 32 \(budget − window = 40 − 8\), got 0/,
    ],
    [
      { budget: 40, window: 8, chunkSize: 33 },
      /chunkkv: option "chunkSize" must be an integer ≥ 1 and ≤ 32 \(budget − window = 40 − 8\), got 33/,
    ],
    [{ budget: 40, window: 8, chunkSize: 2.5 }, /option "chunkSize" must be an integer/],
    [{ budget: 40, window: 8, reuse: 0 }, /chunkkv: option "reuse" must be an integer ≥ 1, got 0/],
    [
      { budget: 40, window: 8, leftover: 'drop' },
      /chunkkv: option "leftover" must be one of "tokens", "unused", got "drop"/,
    ],
  ])('rejects %j at construction', (opts, message) => {
    expect(() => chunkkv(opts as never)).toThrow(OptionError);
    expect(() => chunkkv(opts as never)).toThrow(message);
  });

  it('shrinks the chunks (and the window) to what a ratio budget leaves for a short prompt, and says so', async () => {
    const m = chunkkv({ budget: { ratio: 0.2 }, window: 8, chunkSize: 16 });
    expect(m.begin(model, { length: 100 }).observe).toEqual({ window: 8 });
    expect(chunkkv({ budget: { ratio: 0.05 }, window: 8 }).begin(model, { length: 100 }).observe).toEqual({
      window: 2,
    });
    const h = randomLayer(model, 100, rng(4));
    const ctx = context(model, 0, 100, 8, h);
    const d = await m.begin(model, { length: 100 }).afterLayer(ctx);
    ctx.release();
    expect(d.note).toBe('chunkSize 16 shrunk to 12 to fit the prefix budget (20 − 8)');
    for (const sel of d.keep as Int32Array[]) expect(sel.length).toBe(20);
  });

  it('fits a default chunk size to a small budget in tokens', () => {
    expect(chunkkv({ budget: 16 }).options).toMatchObject({ window: 8, chunkSize: 8 });
  });

  it('createMethod takes options by name and rejects unknown ones', () => {
    expect(createMethod({ budget: 48, window: 8, chunkSize: 5, reuse: 2 }).options).toMatchObject({
      chunkSize: 5,
      reuse: 2,
    });
    expect(() => createMethod({ budget: 48, chunk: 8 })).toThrow(
      /chunkkv: unknown option "chunk"; the options are "budget", "window", "chunkSize", "reuse", "leftover"/,
    );
  });
});
