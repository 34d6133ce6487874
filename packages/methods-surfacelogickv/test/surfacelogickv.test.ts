import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CpuBackend,
  createLayerContext,
  METHOD_SPEC,
  OptionError,
  poolScores,
  selectTopPrefix,
} from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import {
  createMethod,
  kvHeadScores,
  ProfileError,
  profileAllocator,
  SURFACELOGICKV_DEFAULTS,
  surfacelogickv,
  twoStageAllocation,
} from '../src/index.js';
import { makeProfile } from './helpers.js';

const model = { numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 8, name: 'test-model' };
// Layer 0: query heads 0 and 1 (KV head 0) read the needle; layer 1: query head 3 (KV head 1) a little.
const profile = makeProfile(
  [
    [0.3, 0.1, 0, 0],
    [0, 0, 0, 0.05],
  ],
  [
    [0.1, 0, 0, 0],
    [0, 0, 0, 0.05],
  ],
);

describe('surfacelogickv options', () => {
  it('fills the defaults and reports them', () => {
    const m = surfacelogickv({ budget: 64, profile });
    expect(m.spec).toBe(METHOD_SPEC);
    expect(m.name).toBe('surfacelogickv');
    expect(m.options).toEqual({
      budget: 64,
      profile: 'test-model (object)',
      alpha: 0.5,
      ...SURFACELOGICKV_DEFAULTS,
    });
    expect(m.begin(model, { length: 100 }).observe).toEqual({ window: 32 });
  });

  it.each([
    [
      { budget: 64 },
      /option "profile" is required: a profile object or the path of a JSON file written by `kvsieve calibrate <model>`/,
    ],
    [{ budget: 64, profile, base: 1.5 }, /option "base" must be a number in \[0, 1\], got 1.5/],
    [
      { budget: 64, profile, base: { tokens: -1 } },
      /option "base" must be a fraction r in \[0, 1\].*or \{ tokens: n \} with n ≥ 0, got \{"tokens":-1\}/,
    ],
    [{ budget: 64, profile, base: 'half' }, /option "base" must be a fraction/],
    [{ budget: 64, profile, alpha: 2 }, /option "alpha" must be a number in \[0, 1\], got 2/],
    [
      { budget: 64, profile, headReduce: 'mean' },
      /option "headReduce" must be one of "sum", "max", got "mean"/,
    ],
    [{ budget: 64, profile, window: 64 }, /option "window" must be an integer ≥ 1 and ≤ 63/],
    [
      { budget: 40, window: 8, profile, base: { tokens: 33 } },
      'surfacelogickv: option "base" ({ tokens: 33 }) is more than the 32 prefix tokens a head has on average (budget 40 − window 8); raise the budget, lower the window, or lower the base',
    ],
  ])('rejects bad options at construction (%#)', (opts, message) => {
    expect(() => surfacelogickv(opts as never)).toThrow(OptionError);
    expect(() => surfacelogickv(opts as never)).toThrow(message);
  });

  it('a ratio budget too small for the base is refused when the run begins', () => {
    const m = surfacelogickv({ budget: { ratio: 0.25 }, window: 4, profile, base: { tokens: 22 } });
    expect(() => m.begin(model, { length: 100 })).toThrow(
      /option "base" \(\{ tokens: 22 \}\) is more than the 21 prefix tokens a head has on average \(budget 25 − window 4\)/,
    );
    expect(() => m.begin(model, { length: 200 })).not.toThrow();
  });

  it('a profile made for another model is refused when the run begins', () => {
    const m = surfacelogickv({ budget: 16, window: 4, profile });
    const other = { numLayers: 5, numHeads: 8, numKvHeads: 4, headDim: 8, name: 'stories260K.gguf' };
    expect(() => m.begin(other, { length: 100 })).toThrow(ProfileError);
    expect(() => m.begin(other, { length: 100 })).toThrow(
      /made for test-model with 2 layers × 4 heads \(2 KV heads\), but this model \(stories260K.gguf\) has 5 layers × 8 heads \(4 KV heads\); calibrate this model/,
    );
  });

  it('createMethod reads a profile path, and rejects unknown option names', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slkv-method-'));
    const file = join(dir, 'p.json');
    writeFileSync(file, JSON.stringify(profile));
    const m = createMethod({ budget: 16, window: 4, profile: file, base: { tokens: 2 } });
    expect(m.options).toMatchObject({ profile: file, base: { tokens: 2 } });
    expect(() => createMethod({ budget: 16, profile: file, bse: 0.1 })).toThrow(
      /surfacelogickv: unknown option "bse"; the options are "budget", "window", "kernel", "pooling", "gqaReduce", "profile", "base", "alpha", "headReduce"/,
    );
    expect(() => createMethod({ budget: 16, window: 4, profile: join(dir, 'missing.json') })).toThrow(
      /SurfaceLogicKV profile .*missing.json: cannot read it/,
    );
  });
});

/** A 100-token prompt under a budget of 20 with a window of 4. */
const AT_100 = { length: 100, capacity: 20, window: 4 };

describe('profileAllocator', () => {
  it('is the two-stage plan over every head of every layer, read out per layer', () => {
    const a = profileAllocator({ profile, base: 0.25, headReduce: 'sum' });
    const scores = kvHeadScores(profile.infsc, 2);
    const want = twoStageAllocation({ scores, prefixBudget: 16, base: 4, cap: 96 });
    const plan = a.plan(AT_100);
    expect(plan.map((r) => [...r])).toEqual(want.map((r) => [...r]));
    for (const l of [0, 1])
      expect([...a.allocate({ ...AT_100, layer: l, numLayers: 2, kvHeads: 2 })]).toEqual([...want[l]!]);
    expect(plan.flatMap((r) => [...r]).reduce((x, y) => x + y, 0)).toBe(16 * 4);
    // KV head 0 of layer 0 earned most; the unscored KV head of layer 1 keeps just the base.
    expect(plan[0]![0]).toBeGreaterThan(plan[1]![1]!);
    expect(plan[1]![0]).toBe(4);
    expect(() => a.allocate({ ...AT_100, layer: 0, numLayers: 3, kvHeads: 2 })).toThrow(
      /the runtime reports 3 layers × 2 KV heads, the profile has 2 × 2/,
    );
  });

  it('alpha recomputes INFsc from the rates; headReduce max follows the best head of a group', () => {
    const surfaceOnly = profileAllocator({ profile, base: 0, alpha: 1, headReduce: 'sum' });
    const logicOnly = profileAllocator({ profile, base: 0, alpha: 0, headReduce: 'sum' });
    // Surface: layer 0 group 0 has 0.4 of 0.45; logic: 0.1 of 0.15.
    expect([...surfaceOnly.plan(AT_100)[0]!]).toEqual([57, 0]);
    expect([...logicOnly.plan(AT_100)[0]!]).toEqual([43, 0]);
    const max = profileAllocator({ profile, base: 0, headReduce: 'max' });
    // max: group scores 0.2 (layer 0) and 0.05 (layer 1) of 0.25 → 51.2 and 12.8 of 64 tokens.
    expect(max.plan(AT_100).map((r) => [...r])).toEqual([
      [51, 0],
      [0, 13],
    ]);
  });
});

describe('surfacelogickv on one layer', () => {
  it('keeps per KV head its planned count of SnapKV-best prefix tokens, plus the window', async () => {
    const backend = new CpuBackend();
    const L = 48;
    const m = surfacelogickv({ budget: 12, window: 4, kernel: 3, profile, base: 0.25 });
    const run = m.begin(model, { length: L });
    const plan = (m.allocator as ReturnType<typeof profileAllocator>).plan({
      length: L,
      capacity: 12,
      window: 4,
    });
    const rows = (n: number, f: (i: number) => number) =>
      Float32Array.from({ length: n * 8 }, (_, i) => f(i));
    for (const layer of [0, 1]) {
      const ctx = createLayerContext({
        backend,
        model,
        layer,
        keys: backend.upload(
          rows(2 * L, (i) => Math.sin(i * 0.37 + layer)),
          [2, L, 8],
          'f32',
        ),
        windowQueries: backend.upload(
          rows(4 * 4, (i) => Math.cos(i * 0.11)),
          [4, 4, 8],
          'f32',
        ),
        positions: Int32Array.from({ length: L }, (_, i) => i),
      });
      const decision = await run.afterLayer(ctx);
      const keep = decision.keep as Int32Array[];
      expect(keep.map((k) => k.length)).toEqual([...plan[layer]!].map((b) => b + 4));
      // The same positions SnapKV's scores pick for those counts.
      const scores = poolScores(backend, ctx.prefixScores({ reduce: 'mean' }), 'avgpool', 3);
      const want = await selectTopPrefix(backend, scores, plan[layer]!, L, 4);
      expect(keep.map((k) => [...k])).toEqual(want.map((k) => [...k]));
      scores.dispose();
      ctx.release();
    }
    expect(plan.flatMap((r) => [...r]).reduce((x, y) => x + y, 0)).toBe(8 * 4);
  });
});
