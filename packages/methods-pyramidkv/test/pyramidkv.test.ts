import { CpuBackend, createLayerContext, OptionError } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import {
  createMethod,
  exactPyramidCaps,
  PYRAMIDKV_DEFAULTS,
  pyramidAllocator,
  pyramidkv,
} from '../src/index.js';

describe('pyramidkv', () => {
  it('has the reference defaults', () => {
    expect(pyramidkv({ budget: 128 }).options).toEqual({ budget: 128, ...PYRAMIDKV_DEFAULTS });
  });

  async function meanPrefix(schedule: 'reference' | 'exact'): Promise<{ mean: number; perLayer: number[] }> {
    const backend = new CpuBackend();
    const N = 32;
    const L = 600;
    const model = { numLayers: N, numHeads: 1, numKvHeads: 1, headDim: 2 };
    const run = pyramidkv({ budget: 128, window: 8, pooling: 'none', schedule }).begin(model, { length: L });
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
    const perLayer: number[] = [];
    for (let layer = 0; layer < N; layer++) {
      const positions = Int32Array.from({ length: L }, (_, i) => i);
      const ctx = createLayerContext({ backend, model, layer, keys, windowQueries: q, positions });
      const d = await run.afterLayer(ctx);
      ctx.release();
      if (d.keep === 'all') throw new Error('expected a selection');
      perLayer.push(d.keep[0]!.length - 8);
    }
    return { mean: perLayer.reduce((a, b) => a + b, 0) / N, perLayer };
  }

  it('reproduces the reference schedule, overshoot included (C=128, w=8, N=32: mean 125.5 prefix tokens)', async () => {
    expect((await meanPrefix('reference')).mean).toBe(125.5);
  });

  it("hits the total exactly with schedule 'exact', keeping the line", async () => {
    const { mean, perLayer } = await meanPrefix('exact');
    expect(mean).toBe(120);
    for (let l = 1; l < perLayer.length; l++) expect(perLayer[l]).toBeLessThanOrEqual(perLayer[l - 1]!);
    expect(perLayer[0]).toBe(234); // hi = 2·120 − ⌊120 / 20⌋
    expect(perLayer.at(-1)).toBe(6); // lo
  });

  it('exact caps sum to N·base and stay within [lo, hi] for many shapes', () => {
    for (const [base, L, w, beta, N] of [
      [120, 600, 8, 20, 32],
      [10, 40, 2, 4, 3],
      [57, 130, 5, 20, 7],
      [64, 129, 1, 3, 12],
      [3, 1000, 4, 20, 40],
    ] as const) {
      const caps = exactPyramidCaps(base, L, w, beta, N);
      expect(caps.reduce((a, b) => a + b, 0)).toBe(N * base);
      expect(Math.max(...caps)).toBeLessThanOrEqual(L - w);
      expect(Math.min(...caps)).toBeGreaterThanOrEqual(0);
    }
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

describe('pyramidAllocator', () => {
  const at = (layer: number, length: number) =>
    pyramidAllocator(20).allocate({ layer, numLayers: 32, kvHeads: 1, length, capacity: 128, window: 8 })[0]!;

  it('follows the reference schedule (METHODS.md worked example: mean 125.5 for C=128, w=8, N=32)', () => {
    const caps = Array.from({ length: 32 }, (_, l) => at(l, 4096));
    expect(caps.reduce((x, y) => x + y, 0) / 32).toBe(125.5);
    expect(caps[0]).toBe(234);
    expect(caps.every((c, i) => i === 0 || c < caps[i - 1]!)).toBe(true);
    // Between C and 2·(C − w): uniform.
    expect(at(5, 200)).toBe(120);
  });
});
