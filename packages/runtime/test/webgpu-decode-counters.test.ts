import { CpuBackend } from '@kvsieve/core';
import {
  createWebGpuBackend,
  diffCounters,
  type GpuCounters,
  type WebGpuBackend,
} from '@kvsieve/kernels-webgpu';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel } from '../src/index.js';
import { TINY, writeHfFolder } from './fixtures/tiny-model.js';

// What one greedy decode token costs the device once the step has been seen: the figures issue 17
// sets (at most 2 submissions, one read-back of at most 64 bytes, nothing created per token).

const PROMPT = Array.from({ length: 24 }, (_, i) => (i * 29 + 5) % 256);

async function greedy(backend: CpuBackend | WebGpuBackend, dir: string, steps: number) {
  const model = await loadModel(dir, { backend });
  const s = await model.start(PROMPT);
  const tokens: number[] = [];
  let next = s.logits.indexOf(Math.max(...s.logits));
  const per: GpuCounters[] = [];
  for (let i = 0; i < steps; i++) {
    tokens.push(next);
    const before = 'counters' in backend ? backend.counters() : null;
    next = (await s.step(next, { readout: 'argmax' })).token!;
    if (before && 'counters' in backend) per.push(diffCounters(backend.counters(), before));
  }
  s.dispose();
  model.dispose();
  return { tokens, per };
}

describe('WebGPU greedy decode, step by step', () => {
  const dir = writeHfFolder(TINY, { seed: 11 });
  let gpu: WebGpuBackend;
  afterAll(() => gpu?.destroy());

  it('is one submission and one 4-byte read-back per token, creates no buffers or bind groups once warm, and picks the CPU oracle tokens', async () => {
    gpu = await createWebGpuBackend();
    const steps = 16;
    const { tokens, per } = await greedy(gpu, dir, steps);
    const cpu = await greedy(new CpuBackend(), dir, steps);
    expect(tokens).toEqual(cpu.tokens);
    // The first steps compile pipelines, fill the pools and settle which pooled buffer each
    // tensor gets (so that bind groups repeat); from the eighth on nothing is created.
    expect(per[0]!.pipelinesCreated + per[0]!.buffersCreated).toBeGreaterThan(0);
    for (const c of per.slice(7)) {
      expect(c.submissions).toBe(1);
      expect(c.readbacks).toBe(1);
      expect(c.bytesRead).toBeLessThanOrEqual(64);
      expect(c.buffersCreated).toBe(0);
      expect(c.bindGroupsCreated).toBe(0);
      expect(c.pipelinesCreated).toBe(0);
      expect(c.dispatches).toBeGreaterThan(TINY.layers * 10);
    }
  });
});
