import { describe, expect, it } from 'vitest';
import {
  type CompressionMethod,
  CpuBackend,
  capDecision,
  type DecodeContext,
  type LayerContext,
  METHOD_SPEC,
  OptionError,
  sinksAndRecent,
  withDecodeBudget,
} from '../src/index.js';

const model = { numLayers: 2, numHeads: 2, numKvHeads: 2, headDim: 4 };

/** A method that keeps what it is told (per layer), for wrapping. */
function fixed(keep: 'all' | Int32Array[], decode = false): CompressionMethod {
  return {
    spec: METHOD_SPEC,
    name: 'fixed',
    options: {},
    begin: () => ({
      observe: { window: 1 },
      afterLayer: async () => ({ keep }),
      ...(decode ? { afterDecodeStep: async () => undefined } : {}),
    }),
  };
}

const layerCtx = (length: number) => ({ layer: 0, length }) as unknown as LayerContext;

function decodeCtx(lengths: number[][]): DecodeContext {
  return {
    step: 1,
    position: 10,
    backend: new CpuBackend(),
    lengths: lengths.map((l) => Int32Array.from(l)),
    offsets: lengths.map((l) => Int32Array.from(l, (_, h) => h * 100)),
  };
}

describe('withDecodeBudget (sliding decode-time budget)', () => {
  it('validates its options, naming the option and the range', () => {
    expect(() => withDecodeBudget(fixed('all'), {} as never)).toThrow(/"budget" is required/);
    expect(() => withDecodeBudget(fixed('all'), { budget: 0 })).toThrow(/"budget" must be an integer ≥ 1/);
    expect(() => withDecodeBudget(fixed('all'), { budget: 8, sinks: 8 })).toThrow(
      /"sinks" must be an integer ≥ 0 and ≤ 7/,
    );
    expect(() => withDecodeBudget(fixed('all'), { budget: 8, slack: 0 })).toThrow(
      /"slack" must be an integer ≥ 1/,
    );
    expect(() => withDecodeBudget(fixed('all'), { budget: 8, window: 2 } as never)).toThrow(
      /unknown option "window"/,
    );
    const m = withDecodeBudget(fixed('all'), { budget: 8 });
    expect(m.name).toBe('fixed+sliding');
    expect(m.options).toEqual({ decode: { budget: 8, slack: 16, sinks: 4 } });
    expect(m.begin(model, { length: 5 }).observe).toEqual({ window: 1, decodeCapacity: 24 });
    expect(() => withDecodeBudget(fixed('all', true), { budget: 8 }).begin(model, { length: 5 })).toThrow(
      OptionError,
    );
  });

  it('caps the prefill decision at the budget, sinks and most recent of what was kept', async () => {
    const run = withDecodeBudget(fixed('all'), { budget: 4, sinks: 1 }).begin(model, { length: 10 });
    const d = await run.afterLayer(layerCtx(10));
    expect((d.keep as Int32Array[]).map((s) => Array.from(s))).toEqual([
      [0, 7, 8, 9],
      [0, 7, 8, 9],
    ]);
    expect(d.note).toMatch(/decode budget 4/);
    const picked = [Int32Array.of(1, 3, 5, 6, 8), Int32Array.of(2, 4)];
    const capped = capDecision({ keep: picked }, 10, 2, 3, 1);
    expect((capped.keep as Int32Array[]).map((s) => Array.from(s))).toEqual([
      [1, 6, 8],
      [2, 4],
    ]);
    const fits = { keep: [Int32Array.of(1), Int32Array.of(2)] };
    expect(capDecision(fits, 10, 2, 3, 1)).toBe(fits);
    const short = await run.afterLayer(layerCtx(3));
    expect(short.keep).toBe('all');
  });

  it('evicts back to sinks + recent only when a head reaches budget + slack, reading nothing back', async () => {
    const run = withDecodeBudget(fixed('all'), { budget: 4, sinks: 1, slack: 2 }).begin(model, { length: 4 });
    expect(
      await run.afterDecodeStep!(
        decodeCtx([
          [5, 5],
          [5, 5],
        ]),
      ),
    ).toBeUndefined();
    const d = await run.afterDecodeStep!(
      decodeCtx([
        [6, 6],
        [4, 4],
      ]),
    );
    expect(d).toHaveLength(2);
    expect(d![0]!.map((s) => Array.from(s))).toEqual([
      [0, 3, 4, 5],
      [0, 3, 4, 5],
    ]);
    expect(d![1]).toBeNull(); // within budget: left alone
    expect(Array.from(sinksAndRecent(3, 4, 1))).toEqual([0, 1, 2]);
  });
});
