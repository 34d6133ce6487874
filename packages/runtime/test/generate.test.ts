import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CpuBackend } from '@kvsieve/core';
import { describeShared } from '@kvsieve/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  argmax,
  createSampler,
  generate,
  HfTokenizer,
  loadModel,
  type Model,
  StopStringFilter,
} from '../src/index.js';
import { TINY, writeHfFolder } from './fixtures/tiny-model.js';

async function run(model: Model, prompt: string | number[], opts: Parameters<typeof generate>[2]) {
  const it = generate(model, prompt, opts);
  const steps = [];
  for (;;) {
    const r = await it.next();
    if (r.done) return { steps, summary: r.value };
    steps.push(r.value);
  }
}

describe('generate()', () => {
  let model: Model;
  let backend: CpuBackend;
  beforeAll(async () => {
    backend = new CpuBackend();
    model = await loadModel(writeHfFolder(TINY, { seed: 9 }), { backend });
  });

  it('greedy streaming equals a hand-written argmax loop over prefill and step', async () => {
    const ids = model.tokenizer.encode('hello');
    const { steps, summary } = await run(model, 'hello', { maxTokens: 8, stopTokens: [] });
    const session = await model.start(ids);
    const expected: number[] = [];
    let logits = session.logits;
    for (let s = 0; s < 8; s++) {
      expected.push(argmax(logits));
      if (s < 7) logits = (await session.step(expected[s]!)).logits!;
    }
    session.dispose();
    expect(steps.map((s) => s.token)).toEqual(expected);
    expect(summary.tokens).toEqual(expected);
    expect(summary.stopReason).toBe('maxTokens');
    expect(steps.map((s) => s.text).join('')).toBe(summary.text);
    expect(summary.text).toBe(model.tokenizer.decode(expected));
    expect(steps.map((s) => s.stats.position)).toEqual(expected.map((_, i) => ids.length + i));
    expect(steps[0]!.stats.cacheBytes).toHaveLength(TINY.layers);
    expect(summary.cache.keptBytes).toBe(summary.cache.fullBytes);
    expect(summary.prefill.tokensPerSecond).toBeGreaterThan(0);
  });

  it('stops at stop tokens and stop strings, emitting nothing of them', async () => {
    const free = await run(model, 'abc', { maxTokens: 10, stopTokens: [] });
    const third = free.summary.tokens[2]!;
    const byToken = await run(model, 'abc', { maxTokens: 10, stopTokens: [third] });
    expect(byToken.summary.stopReason).toBe('stopToken');
    expect(byToken.summary.tokens).toEqual(free.summary.tokens.slice(0, free.summary.tokens.indexOf(third)));
    const text = free.summary.text;
    const stop = text.slice(3, 5);
    const byString = await run(model, 'abc', { maxTokens: 10, stopTokens: [], stop: [stop] });
    expect(byString.summary.stopReason).toBe('stopString');
    expect(byString.summary.text).toBe(text.slice(0, text.indexOf(stop)));
  });

  it('seeded sampling repeats; top-k 1 and tiny top-p are greedy', async () => {
    const a = await run(model, 'xyz', { maxTokens: 6, temperature: 1.5, seed: 42, stopTokens: [] });
    const b = await run(model, 'xyz', { maxTokens: 6, temperature: 1.5, seed: 42, stopTokens: [] });
    const c = await run(model, 'xyz', { maxTokens: 6, temperature: 1.5, seed: 43, stopTokens: [] });
    const g = await run(model, 'xyz', { maxTokens: 6, stopTokens: [] });
    const k1 = await run(model, 'xyz', { maxTokens: 6, temperature: 2, topK: 1, seed: 1, stopTokens: [] });
    const p0 = await run(model, 'xyz', { maxTokens: 6, temperature: 2, topP: 1e-9, seed: 1, stopTokens: [] });
    expect(a.summary.tokens).toEqual(b.summary.tokens);
    expect(a.summary.tokens).not.toEqual(c.summary.tokens);
    expect(k1.summary.tokens).toEqual(g.summary.tokens);
    expect(p0.summary.tokens).toEqual(g.summary.tokens);
  });

  it('breaking out of the loop frees the cache', async () => {
    const live = backend.liveBytes();
    for await (const step of generate(model, 'abc', { maxTokens: 50, stopTokens: [] })) {
      if (step.step === 2) break;
    }
    expect(backend.liveBytes()).toBe(live);
  });
});

describe('sampling and stop-string parts', () => {
  it('the sampler draws from the temperature distribution', () => {
    const logits = Float32Array.of(0, Math.log(3));
    const sample = createSampler({ temperature: 1, seed: 5 });
    let ones = 0;
    for (let i = 0; i < 4000; i++) ones += sample(logits);
    expect(ones / 4000).toBeGreaterThan(0.72);
    expect(ones / 4000).toBeLessThan(0.78);
  });

  it('stop strings split across tokens are held back, then cut', () => {
    const f = new StopStringFilter(['END']);
    expect(f.push('abc E')).toEqual({ text: 'abc ', stopped: false });
    expect(f.push('abc EN')).toEqual({ text: '', stopped: false });
    expect(f.push('abc ENx')).toEqual({ text: 'ENx', stopped: false });
    expect(f.push('abc ENx END more')).toEqual({ text: ' ', stopped: true });
  });
});

describeShared('SmolLM2 tokenizer.json', ['models/smollm2-135m-config/tokenizer.json'], (shared) => {
  it('round-trips text and knows its end-of-text token', () => {
    const json = JSON.parse(readFileSync(join(shared, 'models/smollm2-135m-config/tokenizer.json'), 'utf8'));
    const tok = new HfTokenizer(json, { eos_token: '<|endoftext|>' }, []);
    const text = 'Once upon a time, naïve café — 42 × 7 = 294 🙂\n\tdone.';
    const ids = tok.encode(text);
    expect(ids.length).toBeGreaterThan(10);
    expect(tok.decode(ids)).toBe(text);
    expect(tok.eosIds).toEqual([0]);
    expect(tok.vocabSize).toBe(49152);
  });
});
