import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { argmax, runSample } from '../src/index.js';
import { tinyModel } from './tiny.js';

let tiny: Awaited<ReturnType<typeof tinyModel>>;
beforeAll(async () => {
  tiny = await tinyModel(12);
});
afterAll(() => tiny?.dispose());

const PROMPT = Array.from({ length: 60 }, (_, i) => 32 + ((i * 7) % 90));

describe('runSample', () => {
  it('greedy-decodes the same tokens as feeding them back through a fresh prefill', async () => {
    const r = await runSample(tiny.model, PROMPT, { maxNewTokens: 5, stop: [] });
    expect(r.tokens).toHaveLength(5);
    expect(r.logProbs).toHaveLength(5);
    const again = await tiny.model.start([...PROMPT, ...r.tokens.slice(0, 4)]);
    expect(argmax(again.logits)).toBe(r.tokens[4]);
    again.dispose();
  });

  it('asks follow-up questions after the previous answer, which stays in the cache', async () => {
    const q2 = [87, 104, 97, 116, 63, 32];
    const r = await runSample(tiny.model, PROMPT, { maxNewTokens: 3, stop: [], followUps: [q2] });
    expect(r.answers).toHaveLength(2);
    expect(r.tokens).toHaveLength(6);
    const a1 = r.tokens.slice(0, 3);
    const pre = await tiny.model.start([...PROMPT, ...a1, ...q2]);
    expect(argmax(pre.logits)).toBe(r.tokens[3]);
    pre.dispose();
    expect(r.answers[1]).toBe(tiny.model.tokenizer.decode(r.tokens.slice(3)).trim());
  });

  it('cuts the prediction at a stop string', async () => {
    const free = await runSample(tiny.model, PROMPT, { maxNewTokens: 8, stop: [] });
    const text = tiny.model.tokenizer.decode(free.tokens);
    const stop = text.slice(2, 3);
    const r = await runSample(tiny.model, PROMPT, { maxNewTokens: 8, stop: [stop] });
    expect(r.prediction).toBe(text.slice(0, text.indexOf(stop)).trim());
  });
});
