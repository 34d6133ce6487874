import { METHOD_SPEC, OptionError } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import { createMethod, SNAPKV_DEFAULTS, snapkv } from '../src/index.js';

const model = { numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 8 };

describe('snapkv options', () => {
  it('fills the reference defaults and reports them', () => {
    const m = snapkv({ budget: 64 });
    expect(m.spec).toBe(METHOD_SPEC);
    expect(m.name).toBe('snapkv');
    expect(m.options).toEqual({ budget: 64, ...SNAPKV_DEFAULTS });
    expect(SNAPKV_DEFAULTS).toEqual({ window: 32, kernel: 5, pooling: 'avgpool', gqaReduce: 'mean' });
    expect(m.begin(model, { length: 100 }).observe).toEqual({ window: 32 });
  });

  it('accepts a budget as tokens, { tokens } or { ratio }', () => {
    expect(snapkv({ budget: { tokens: 40 }, window: 8 }).options.budget).toEqual({ tokens: 40 });
    expect(snapkv({ budget: { ratio: 0.25 }, window: 8 }).options.budget).toEqual({ ratio: 0.25 });
  });

  it.each([
    [
      { budget: 0 },
      /snapkv: option "budget" must be a whole number of tokens ≥ 1, \{ tokens: n \} or \{ ratio: r \} with 0 < r ≤ 1, got 0/,
    ],
    [{ budget: 2.5 }, /option "budget" must be a whole number of tokens ≥ 1.*got 2\.5/],
    [{ budget: { ratio: 0 } }, /option "budget.ratio" must be in \(0, 1\], got 0/],
    [{ budget: { ratio: 1.5 } }, /option "budget.ratio" must be in \(0, 1\], got 1\.5/],
    [{ budget: { tokens: 10, ratio: 0.1 } }, /option "budget" must be/],
    [{}, /option "budget" is required/],
    [
      { budget: 64, window: 64 },
      /option "window" must be an integer ≥ 1 and ≤ 63 \(smaller than the budget of 64 tokens\), got 64/,
    ],
    [{ budget: 64, window: 0 }, /option "window" must be an integer ≥ 1 and ≤ 63/],
    [{ budget: 64, window: 8, kernel: 4 }, /option "kernel" must be an odd integer ≥ 1, got 4/],
    [{ budget: 64, window: 8, kernel: 0 }, /option "kernel" must be an odd integer ≥ 1, got 0/],
    [
      { budget: 64, window: 8, pooling: 'meanpool' },
      /option "pooling" must be one of "avgpool", "maxpool", "none", got "meanpool"/,
    ],
    [
      { budget: 64, window: 8, gqaReduce: 'min' },
      /option "gqaReduce" must be one of "mean", "max", "sum", got "min"/,
    ],
  ])('rejects %j at construction', (opts, message) => {
    expect(() => snapkv(opts as never)).toThrow(OptionError);
    expect(() => snapkv(opts as never)).toThrow(message);
  });

  it('shrinks the window, and says so, when a ratio leaves no room beside it on a short prompt', () => {
    const m = snapkv({ budget: { ratio: 0.1 }, window: 16 });
    expect(m.begin(model, { length: 100 }).observe).toEqual({ window: 5 });
    expect(m.begin(model, { length: 300 }).observe).toEqual({ window: 16 });
  });

  it('halves a default window that does not fit a budget in tokens', () => {
    expect(snapkv({ budget: 20 }).options).toMatchObject({ budget: 20, window: 10 });
    expect(snapkv({ budget: 40 }).options).toMatchObject({ budget: 40, window: 32 });
  });

  it('createMethod takes options by name and rejects unknown ones', () => {
    expect(createMethod({ budget: 48, window: 8, kernel: 7, pooling: 'maxpool' }).options).toMatchObject({
      kernel: 7,
      pooling: 'maxpool',
    });
    expect(() => createMethod({ budget: 48, windw: 8 })).toThrow(
      /snapkv: unknown option "windw"; the options are "budget", "window"/,
    );
  });
});
