import { CpuBackend, type HostArray, type Tensor } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
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

  it('sampling reads the logits of each step (the sampler runs on the host)', async () => {
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
});
