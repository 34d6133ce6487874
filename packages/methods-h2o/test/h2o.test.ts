import { CpuBackend, createLayerContext, OptionError } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import { createMethod, H2O_DEFAULTS, h2o, MissingInputError } from '../src/index.js';

const model = { numLayers: 1, numHeads: 2, numKvHeads: 1, headDim: 4 };

describe('h2o (prefill form)', () => {
  it('asks the runtime for every prompt query and has the reference defaults', () => {
    const m = h2o({ budget: 64 });
    expect(m.options).toEqual({ budget: 64, ...H2O_DEFAULTS });
    expect(m.begin(model, { length: 100 }).observe).toEqual({ window: 32, allQueries: true });
  });

  it('keeps the key that every query attends to', async () => {
    const backend = new CpuBackend();
    const L = 12;
    // Key 3 aligns with every query; the others are orthogonal to them.
    const k = new Float32Array(L * 4);
    for (let j = 0; j < L; j++) k[j * 4 + (j === 3 ? 0 : 1)] = 1;
    const q = new Float32Array(2 * L * 4);
    for (let i = 0; i < 2 * L; i++) q[i * 4] = 4;
    const keys = backend.upload(k, [1, L, 4], 'f32');
    const all = backend.upload(q, [2, L, 4], 'f32');
    const windowQueries = backend.upload(q.slice(0, 2 * 2 * 4), [2, 2, 4], 'f32');
    const run = h2o({ budget: 3, window: 2 }).begin(model, { length: L });
    const positions = Int32Array.from({ length: L }, (_, i) => i);
    const ctx = createLayerContext({
      backend,
      model,
      layer: 0,
      keys,
      windowQueries,
      allQueries: all,
      positions,
    });
    const d = await run.afterLayer(ctx);
    expect(d.keep).not.toBe('all');
    expect(Array.from((d.keep as Int32Array[])[0]!)).toEqual([3, 10, 11]);
    const noQueries = createLayerContext({ backend, model, layer: 0, keys, windowQueries, positions });
    await expect(run.afterLayer(noQueries)).rejects.toThrow(MissingInputError);
    await expect(run.afterLayer(noQueries)).rejects.toThrow(/the context has no allQueries/);
  });

  it('rejects bad options at construction, naming them', () => {
    expect(() => h2o({ budget: 0 })).toThrow(OptionError);
    expect(() => h2o({ budget: 16, window: 16 })).toThrow(
      /h2o: option "window" must be an integer ≥ 1 and ≤ 15/,
    );
    expect(() => h2o({ budget: 16, window: 4, gqaReduce: 'avg' as never })).toThrow(
      /option "gqaReduce" must be one of "mean", "max", "sum"/,
    );
    expect(() => createMethod({ budget: 16, kernel: 5 })).toThrow(
      /h2o: unknown option "kernel"; the options are "budget", "window", "gqaReduce"/,
    );
  });
});
