import { OptionError } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import { createMethod, streamingllm } from '../src/index.js';

const model = { numLayers: 1, numHeads: 2, numKvHeads: 2, headDim: 4 };
const ctx = (length: number) => ({ layer: 0, length }) as never;

describe('streamingllm', () => {
  it('halves the sinks for a short prompt whose ratio budget does not exceed them, and says so', async () => {
    const d = await streamingllm({ budget: { ratio: 0.1 }, sinks: 4 })
      .begin(model, { length: 30 })
      .afterLayer(ctx(30));
    expect((d.keep as Int32Array[]).map((s) => Array.from(s))).toEqual([
      [0, 28, 29],
      [0, 28, 29],
    ]);
    expect(d.note).toBe('sinks 4 shrunk to 1 to fit the budget (10% of the prompt: 3 of 30 tokens)');
  });

  it('halves default sinks that do not fit a budget in tokens', () => {
    expect(streamingllm({ budget: 4 }).options).toEqual({ budget: 4, sinks: 2 });
    expect(streamingllm({ budget: 1 }).options).toEqual({ budget: 1, sinks: 0 });
  });

  it('keeps the sinks and the most recent tokens of every head, reading no queries', async () => {
    const run = streamingllm({ budget: 8 }).begin(model, { length: 20 });
    expect(run.observe).toEqual({ window: 0 });
    const d = await run.afterLayer(ctx(20));
    expect((d.keep as Int32Array[]).map((s) => Array.from(s))).toEqual([
      [0, 1, 2, 3, 16, 17, 18, 19],
      [0, 1, 2, 3, 16, 17, 18, 19],
    ]);
  });

  it('expresses the KVCache-Factory variant as sinks = budget − window', async () => {
    const d = await streamingllm({ budget: 8, sinks: 6 }).begin(model, { length: 20 }).afterLayer(ctx(20));
    expect(Array.from((d.keep as Int32Array[])[0]!)).toEqual([0, 1, 2, 3, 4, 5, 18, 19]);
  });

  it('evicts nothing from a short prompt and says so', async () => {
    const d = await streamingllm({ budget: 32 }).begin(model, { length: 20 }).afterLayer(ctx(20));
    expect(d).toEqual({ keep: 'all', note: '20 tokens fit the budget of 32: nothing evicted' });
  });

  it('rejects bad options, naming them', () => {
    expect(() => streamingllm({ budget: 0 })).toThrow(OptionError);
    expect(() => streamingllm({ budget: 8, sinks: 8 })).toThrow(
      /streamingllm: option "sinks" must be an integer ≥ 0 and ≤ 7/,
    );
    expect(() => streamingllm({ budget: 8, sinks: -1 })).toThrow(/option "sinks"/);
    expect(() => createMethod({ budget: 8, window: 4 })).toThrow(
      /streamingllm: unknown option "window"; the options are "budget", "sinks"/,
    );
  });
});
