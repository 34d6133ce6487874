import { CpuBackend, type HostArray, type Tensor } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import { createSampler } from '../src/generate/sampler.js';
import { generate, loadModel } from '../src/index.js';
import { TINY, writeHfFolder } from './fixtures/tiny-model.js';

/** A CPU backend that records every read-back (dtype and element count). */
class CountingBackend extends CpuBackend {
  reads: { dtype: string; size: number }[] = [];
  override read(t: Tensor): Promise<HostArray> {
    this.reads.push({ dtype: t.dtype, size: t.size });
    return super.read(t);
  }
}

describe('decode loop read-backs', () => {
  it('greedy decoding reads back one token id per step and nothing else', async () => {
    const backend = new CountingBackend();
    const model = await loadModel(writeHfFolder(TINY, { seed: 3 }), { backend });
    const it = generate(model, 'hello there', { maxTokens: 12, stopTokens: [] });
    let r = await it.next(); // prefill, then the first token from the prefill logits
    const afterPrefill = backend.reads.length;
    let steps = 0;
    while (!r.done) {
      steps++;
      r = await it.next();
    }
    const decodeReads = backend.reads.slice(afterPrefill);
    expect(steps).toBe(12);
    expect(decodeReads).toEqual(Array.from({ length: 11 }, () => ({ dtype: 'i32', size: 1 })));
    model.dispose();
  });

  it('sampling without top-k reads the logits of each step (the sampler runs on the host)', async () => {
    const backend = new CountingBackend();
    const model = await loadModel(writeHfFolder(TINY, { seed: 3 }), { backend });
    const it = generate(model, 'hello there', { maxTokens: 4, stopTokens: [], temperature: 0.8, seed: 1 });
    let r = await it.next();
    const afterPrefill = backend.reads.length;
    while (!r.done) r = await it.next();
    const reads = backend.reads.slice(afterPrefill);
    expect(reads).toHaveLength(3);
    for (const x of reads) expect(x.dtype).toBe('f32');
    model.dispose();
  });

  it('top-k sampling reads back only the k candidates and their logits, and draws exactly what sampling from all logits draws', async () => {
    const dir = writeHfFolder(TINY, { seed: 3 });
    const opts = { maxTokens: 10, stopTokens: [], temperature: 0.9, topK: 7, topP: 0.8, seed: 5 };
    const backend = new CountingBackend();
    const model = await loadModel(dir, { backend });
    const it = generate(model, 'hello there', opts);
    let r = await it.next();
    const afterPrefill = backend.reads.length;
    while (!r.done) r = await it.next();
    const reads = backend.reads.slice(afterPrefill);
    expect(reads).toEqual(
      Array.from({ length: 9 }, () => [
        { dtype: 'i32', size: 7 },
        { dtype: 'f32', size: 7 },
      ]).flat(),
    );
    // The same draws from all logits, step by step, with the sampler's full path.
    const sample = createSampler(opts);
    const session = await model.start(model.tokenizer.encode('hello there'));
    const tokens = [sample(session.logits)];
    for (let i = 1; i < opts.maxTokens; i++)
      tokens.push(sample((await session.step(tokens.at(-1)!)).logits!));
    session.dispose();
    expect(r.value.tokens).toEqual(tokens);
    // A test that could not fail would not show it: the draws are not the greedy tokens.
    const g = generate(model, 'hello there', { maxTokens: 10, stopTokens: [] });
    let gr = await g.next();
    while (!gr.done) gr = await g.next();
    expect(gr.value.tokens).not.toEqual(r.value.tokens);
    model.dispose();
  });

  it("a 'top' readout needs k", async () => {
    const model = await loadModel(writeHfFolder(TINY, { seed: 3 }), { backend: new CpuBackend() });
    const session = await model.start([1, 2, 3]);
    await expect(session.step(4, { readout: 'top' })).rejects.toThrow(
      "step: readout 'top' needs k, a positive integer; got undefined",
    );
    session.dispose();
    model.dispose();
  });
});
