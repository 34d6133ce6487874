import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CpuBackend } from '@kvsieve/core';
import { loadModel, type Model } from '@kvsieve/runtime';
import { describeShared } from '@kvsieve/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  calibrate,
  computeInfsc,
  kvHeadScores,
  makeProbe,
  ProfileError,
  parseProfileJson,
  surfacelogickv,
  twoStageAllocation,
} from '../src/index.js';

const MODEL = 'models/stories260K/stories260K.gguf';
const FIXTURE = new URL('./fixtures/stories260K.slkv-profile.json', import.meta.url);

describeShared('SurfaceLogicKV on stories260K', [MODEL], (shared) => {
  let model: Model;
  const fixture = parseProfileJson(readFileSync(FIXTURE, 'utf8'), 'fixtures/stories260K.slkv-profile.json');
  beforeAll(async () => {
    model = await loadModel(join(shared, MODEL), { backend: new CpuBackend() });
  });
  afterAll(() => model?.dispose());

  it('probe spans are exact with its SentencePiece tokenizer', () => {
    for (const seed of [0, 1, 2, 3]) {
      const p = makeProbe(model.tokenizer, { length: 200, depth: 0.4, seed });
      expect(model.tokenizer.decode(p.prompt.slice(p.needle.start, p.needle.end)).trim()).toBe(p.text.needle);
      expect(model.tokenizer.decode(p.answer).trim()).toBe(p.text.value);
      expect(p.prompt.length).toBeLessThanOrEqual(200);
    }
  });

  it('the committed profile is what `kvsieve calibrate` makes from the generated filler (reproduced here)', async () => {
    const { probes } = fixture;
    expect(probes.haystack).toBe('generated filler (builtin-v1)');
    const again = await calibrate(model, {
      probes: probes.count,
      seed: probes.seed,
      lengths: probes.lengths,
      depths: probes.depths,
      answer: probes.answer,
      alpha: fixture.alpha,
    });
    expect(again.model).toMatchObject({ numLayers: 5, numHeads: 8, numKvHeads: 4 });
    expect(again.probes.promptTokens).toEqual(probes.promptTokens);
    expect(again.heads).toEqual(fixture.heads);
    expect(again.infsc).toEqual(fixture.infsc);
  });

  it('kept tokens per KV head follow the profile: window + two-stage share', async () => {
    const prompt = makeProbe(model.tokenizer, { length: 400, depth: 0.5, seed: 9 }).prompt;
    const L = prompt.length;
    const method = surfacelogickv({ budget: { ratio: 0.25 }, window: 16, profile: fixture });
    const pre = await model.start(prompt, { method });
    const C = Math.round(0.25 * L);
    const plan = twoStageAllocation({
      scores: kvHeadScores(fixture.infsc, 4),
      prefixBudget: C - 16,
      base: Math.floor(0.2 * (C - 16)),
      cap: L - 16,
    });
    pre.layers.forEach((layer, l) => expect([...layer.kept]).toEqual([...plan[l]!].map((b) => b + 16)));
    const kept = pre.layers.flatMap((l) => [...l.kept]);
    expect(kept.reduce((a, b) => a + b, 0)).toBe(C * 4 * 5);
    // The head the profile ranks first (layer 4, query head 0 → KV head 0) keeps the most.
    expect(pre.layers[4]!.kept[0]).toBe(Math.max(...kept));
    pre.dispose();
  });

  it('a profile of another model is refused before prefill starts', async () => {
    const heads = fixture.heads.slice(0, 4);
    const other = {
      ...fixture,
      model: { ...fixture.model, numLayers: 4 },
      heads,
      infsc: computeInfsc(heads, 0.5),
    };
    const method = surfacelogickv({ budget: 64, window: 8, profile: other });
    await expect(model.start([1, 2, 3, 4], { method })).rejects.toThrow(ProfileError);
    await expect(model.start([1, 2, 3, 4], { method })).rejects.toThrow(
      /was made for .*stories260K.gguf with 4 layers × 8 heads \(4 KV heads\), but this model \(.*stories260K.gguf\) has 5 layers × 8 heads/,
    );
  });
});
