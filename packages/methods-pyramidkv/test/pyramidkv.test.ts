import { CpuBackend, createLayerContext, OptionError } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import { createMethod, PYRAMIDKV_DEFAULTS, pyramidkv } from '../src/index.js';

describe('pyramidkv', () => {
  it('has the reference defaults', () => {
    expect(pyramidkv({ budget: 128 }).options).toEqual({ budget: 128, ...PYRAMIDKV_DEFAULTS });
  });

  it('reproduces the reference schedule, overshoot included (C=128, w=8, N=32: mean 125.5 prefix tokens)', async () => {
    const backend = new CpuBackend();
    const N = 32;
    const L = 600;
    const model = { numLayers: N, numHeads: 1, numKvHeads: 1, headDim: 2 };
    const m = pyramidkv({ budget: 128, window: 8, pooling: 'none' });
    const run = m.begin(model, { length: L });
    const keys = backend.upload(
      Float32Array.from({ length: L * 2 }, (_, i) => Math.sin(i)),
      [1, L, 2],
      'f32',
    );
    const q = backend.upload(
      Float32Array.from({ length: 16 }, (_, i) => Math.cos(i)),
      [1, 8, 2],
      'f32',
    );
    let prefix = 0;
    for (let layer = 0; layer < N; layer++) {
      const ctx = createLayerContext({
        backend,
        model,
        layer,
        keys,
        windowQueries: q,
        positions: Int32Array.from({ length: L }, (_, i) => i),
      });
      const d = await run.afterLayer(ctx);
      ctx.release();
      if (d.keep === 'all') throw new Error('expected a selection');
      prefix += d.keep[0]!.length - 8;
    }
    expect(prefix / N).toBe(125.5);
  });

  it('rejects a bad beta and unknown options', () => {
    expect(() => pyramidkv({ budget: 64, window: 8, beta: 0 })).toThrow(OptionError);
    expect(() => pyramidkv({ budget: 64, window: 8, beta: 1.5 })).toThrow(
      /pyramidkv: option "beta" must be an integer ≥ 1, got 1\.5/,
    );
    expect(() => createMethod({ budget: 64, betta: 2 })).toThrow(/pyramidkv: unknown option "betta"/);
    expect(() => pyramidkv({ budget: 64, window: 8, kernel: 2 })).toThrow(
      /pyramidkv: option "kernel" must be an odd integer/,
    );
  });
});
