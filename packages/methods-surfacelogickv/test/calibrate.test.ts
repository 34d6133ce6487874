import { type CompressionMethod, CpuBackend, createLayerContext, OptionError } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import {
  type CalibrationModel,
  calibrate,
  makeProbe,
  type Probe,
  parseProfile,
  probeSpec,
} from '../src/index.js';
import { byteTokenizer } from './helpers.js';

const X = 'x'.charCodeAt(0);

/**
 * A model whose attention is scripted: keys are one-hot per position, so each query head attends
 * exactly where the script points it. Query head 0 looks at the needle's copy of the token due at
 * each answer step (surface when that token is what was generated), head 1 at a needle token that
 * differs from it (logic), head 2 at BOS (ignore), head 3 at the copy on even steps and BOS on odd
 * ones. Greedy decoding always says "x".
 */
function scriptedModel(
  lengths: number[],
  depths: number[],
): CalibrationModel & {
  prefills: number;
  steps: number;
} {
  const backend = new CpuBackend();
  let observed = 0;
  const m = {
    prefills: 0,
    steps: 0,
    info: { numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 0, name: 'scripted' },
    tokenizer: byteTokenizer,
    async start(ids: readonly number[], opts: { method?: CompressionMethod }) {
      m.prefills++;
      const logits = new Float32Array(257);
      logits[X] = 1;
      if (opts.method) {
        const probe: Probe = makeProbe(byteTokenizer, { ...probeSpec(observed++, 0, lengths, depths) });
        const run = opts.method.begin({ ...m.info, headDim: ids.length }, { length: ids.length });
        const n = ids.length;
        const w = run.observe.window;
        expect(w).toBe(probe.answer.length);
        const inNeedle = (pred: (t: number) => boolean) => {
          for (let j = probe.needle.start; j < probe.needle.end; j++) if (pred(ids[j]!)) return j;
          throw new Error('no such needle token');
        };
        const keys = new Float32Array(2 * n * n);
        // KV head h's key of position j is one-hot at (j + h) mod n, so a query reading the wrong KV
        // head of its GQA group would land elsewhere.
        for (let h = 0; h < 2; h++) for (let j = 0; j < n; j++) keys[(h * n + j) * n + ((j + h) % n)] = 1;
        const queries = new Float32Array(4 * w * n);
        for (let i = 0; i < w; i++) {
          const due = probe.answer[i]!;
          const copy = inNeedle((t) => t === due);
          const other = inNeedle((t) => t !== due);
          [copy, other, 0, i % 2 === 0 ? copy : 0].forEach((target, g) => {
            queries[(g * w + i) * n + ((target + Math.floor(g / 2)) % n)] = 5;
          });
        }
        for (let layer = 0; layer < 2; layer++) {
          const ctx = createLayerContext({
            backend,
            model: { ...m.info, headDim: n },
            layer,
            keys: backend.upload(keys, [2, n, n], 'f32'),
            windowQueries: backend.upload(queries, [4, w, n], 'f32'),
            positions: Int32Array.from({ length: n }, (_, i) => i),
          });
          expect((await run.afterLayer(ctx)).keep).toBe('all');
          ctx.release();
        }
      }
      return {
        logits,
        async step() {
          m.steps++;
          const next = new Float32Array(257);
          next[X] = 1;
          return { logits: next };
        },
        dispose() {},
      };
    },
  };
  return m;
}

describe('calibrate', () => {
  const lengths = [120, 160];
  const depths = [0.2, 0.8];
  const answers = [0, 1, 2].map(
    (p) => makeProbe(byteTokenizer, probeSpec(p, 0, lengths, depths)).answer.length,
  );
  const steps = answers.reduce((a, b) => a + b, 0);
  const evenSteps = answers.reduce((a, m) => a + Math.ceil(m / 2), 0);

  it('teacher-forced: classes each head by where it looks and what it finds there', async () => {
    const model = scriptedModel(lengths, depths);
    const p = await calibrate(model, { probes: 3, lengths, depths, answer: 'teacher', alpha: 0.5 });
    expect(model.prefills).toBe(3);
    for (const row of p.heads) {
      expect(row.map((h) => h.steps)).toEqual([steps, steps, steps, steps]);
      expect(row.map((h) => [h.surface, h.logic])).toEqual([
        [1, 0],
        [0, 1],
        [0, 0],
        [evenSteps / steps, 0],
      ]);
    }
    // INFsc: 0.5 per layer for heads 0 and 1, 0.5·even/steps for head 3, normalized over both layers.
    const raw = 0.5 + 0.5 + (0.5 * evenSteps) / steps;
    expect(p.infsc[0]![0]).toBeCloseTo(0.5 / (2 * raw), 12);
    expect(p.infsc[1]![3]).toBeCloseTo((0.5 * evenSteps) / steps / (2 * raw), 12);
    expect(p.probes).toMatchObject({ count: 3, seed: 0, lengths, depths, answer: 'teacher' });
    expect(p.probes.exactAnswers).toBeUndefined();
    // What calibrate writes passes the loader.
    expect(parseProfile(JSON.parse(JSON.stringify(p)))).toEqual(JSON.parse(JSON.stringify(p)));
  });

  it('greedy: the generated token decides surface vs logic (the model says "x", never the copy)', async () => {
    const model = scriptedModel(lengths, depths);
    const p = await calibrate(model, { probes: 3, lengths, depths });
    expect(p.probes.answer).toBe('greedy');
    expect(p.probes.exactAnswers).toBe(0);
    // One prefill to answer and one to observe per probe; m − 1 decode steps per answer.
    expect(model.prefills).toBe(6);
    expect(model.steps).toBe(steps - 3);
    expect(p.heads[0]!.map((h) => [h.surface, h.logic])).toEqual([
      [0, 1],
      [0, 1],
      [0, 0],
      [0, evenSteps / steps],
    ]);
  });

  it.each([
    [{ probes: 0 }, /calibrate: option "probes" must be an integer ≥ 1, got 0/],
    [{ alpha: -0.1 }, /option "alpha" must be a number in \[0, 1\], got -0.1/],
    [{ lengths: [] }, /option "lengths" must be a non-empty array, got \[\]/],
    [{ lengths: [8] }, /option "lengths\[0\]" must be an integer ≥ 16/],
    [{ depths: [0.5, 2] }, /option "depths\[1\]" must be a number in \[0, 1\], got 2/],
    [{ answer: 'sampled' }, /option "answer" must be "greedy" or "teacher", got "sampled"/],
  ])('rejects %j', async (opts, message) => {
    const model = scriptedModel(lengths, depths);
    await expect(calibrate(model, opts as never)).rejects.toThrow(OptionError);
    await expect(calibrate(model, opts as never)).rejects.toThrow(message);
  });

  it('refuses lengths beyond the model', async () => {
    const model = scriptedModel(lengths, depths);
    const small = { ...model, info: { ...model.info, maxPositions: 100 } };
    await expect(calibrate(small, { lengths: [120] })).rejects.toThrow(
      /option "lengths\[0\]" must be an integer ≥ 16 and ≤ 84 \(the model handles 100 positions, and the answer needs room\), got 120/,
    );
  });
});
