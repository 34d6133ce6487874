import {
  CpuBackend,
  createLayerContext,
  METHOD_SPEC,
  OptionError,
  observationScorer,
  scoreAllocateSelect,
} from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import { defineMethod, isMethodDefinition, option, REDUCTIONS, windowScoreOptions } from '../src/index.js';

/** A SnapKV-like method declared the way every method package declares itself. */
const demo = defineMethod({
  name: 'demo',
  summary: 'A test method.',
  options: {
    ...windowScoreOptions({ window: 8, kernel: 5, pooling: 'avgpool', gqaReduce: 'mean' }),
    depth: option.integer({ default: 2, min: 1, max: 4, doc: 'A bounded integer.' }),
    mode: option.choice(['fast', 'exact'] as const, { default: 'fast', doc: 'A choice.' }),
    strict: option.boolean({ default: false, doc: 'A flag.' }),
    scale: option.number({ min: 0, max: 1, range: '[0, 1]', doc: 'An optional number.' }),
  },
  check: (o) => {
    if (o.mode === 'exact' && o.depth > 3) throw new OptionError('demo: mode "exact" needs depth ≤ 3');
  },
  build: (o) =>
    scoreAllocateSelect({
      name: 'demo',
      budget: o.budget,
      window: o.window,
      scorer: observationScorer({ reduce: o.gqaReduce, pooling: o.pooling, kernel: o.kernel }),
    }),
});

describe('defineMethod', () => {
  it('derives the typed factory, createMethod, the option names and the defaults from one declaration', () => {
    expect(isMethodDefinition(demo)).toBe(true);
    expect(demo.optionNames).toEqual([
      'budget',
      'window',
      'kernel',
      'pooling',
      'gqaReduce',
      'depth',
      'mode',
      'strict',
      'scale',
    ]);
    const m = demo.create({ budget: 32 });
    expect(m.spec).toBe(METHOD_SPEC);
    expect(m.name).toBe('demo');
    expect(m.options).toEqual({
      budget: 32,
      window: 8,
      kernel: 5,
      pooling: 'avgpool',
      gqaReduce: 'mean',
      depth: 2,
      mode: 'fast',
      strict: false,
    });
    expect(Object.isFrozen(m.options)).toBe(true);
    // The reported options rebuild the same method; the body's parts stay visible.
    expect(demo.createMethod({ ...m.options }).options).toEqual(m.options);
    expect(m.scorer.name).toBe('window');
  });

  it('gives every message in one form: method, option, allowed values, value', () => {
    const cases: [Record<string, unknown>, string | RegExp][] = [
      [{}, 'demo: option "budget" is required'],
      [{ budget: 32, depth: 5 }, 'demo: option "depth" must be an integer ≥ 1 and ≤ 4, got 5'],
      [{ budget: 32, kernel: 4 }, 'demo: option "kernel" must be an odd integer ≥ 1, got 4'],
      [{ budget: 32, mode: 'slow' }, 'demo: option "mode" must be one of "fast", "exact", got "slow"'],
      [{ budget: 32, strict: 'yes' }, 'demo: option "strict" must be true or false, got "yes"'],
      [{ budget: 32, scale: 2 }, 'demo: option "scale" must be a number in [0, 1], got 2'],
      [{ budget: 32, windw: 4 }, /^demo: unknown option "windw"; the options are "budget", "window"/],
      [{ budget: 32, mode: 'exact', depth: 4 }, 'demo: mode "exact" needs depth ≤ 3'],
    ];
    for (const [raw, message] of cases) {
      expect(() => demo.createMethod(raw)).toThrow(OptionError);
      expect(() => demo.createMethod(raw)).toThrow(message);
    }
    expect(() => demo.createMethod(null as never)).toThrow('demo: options must be an object, got null');
  });

  it('fits the window to a budget in tokens: a given one is refused, a default one halved', () => {
    expect(() => demo.create({ budget: 8, window: 8 })).toThrow(
      'demo: option "window" must be an integer ≥ 1 and ≤ 7 (smaller than the budget of 8 tokens), got 8',
    );
    expect(demo.create({ budget: 8 }).options.window).toBe(4);
    expect(demo.create({ budget: { ratio: 0.1 } }).options.window).toBe(8);
  });

  it('defaults the kernel to 1 without pooling, whatever the order the options come in', () => {
    expect(demo.create({ budget: 32, pooling: 'none' }).options.kernel).toBe(1);
    expect(demo.create({ pooling: 'none', budget: 32 } as never).options.kernel).toBe(1);
  });

  it('describes its options for people (help, docs, forms)', () => {
    expect(demo.options.budget.presence).toBe('required');
    expect(demo.options.window.defaultText).toBe('8 (halved to fit a smaller budget in tokens)');
    expect(demo.options.mode.choices).toEqual(['fast', 'exact']);
    expect(demo.options.gqaReduce.allowed).toBe(`one of ${REDUCTIONS.map((r) => `"${r}"`).join(', ')}`);
    for (const spec of Object.values(demo.options)) expect(spec.doc.length).toBeGreaterThan(0);
  });

  it('a wrapper passes options it does not declare to what it wraps, and reports the wrapped name', () => {
    const wrapper = defineMethod({
      name: 'wrap',
      summary: 'Wraps demo.',
      passThrough: true,
      options: { alpha: option.number({ default: 0.5, min: 0, max: 1, range: '[0, 1]', doc: 'x' }) },
      build: (o, rest) => {
        const inner = demo.createMethod(rest);
        return { ...inner, name: `wrap(${inner.name})`, options: { ...inner.options, alpha: o.alpha } };
      },
    });
    const w = wrapper.createMethod({ budget: 32, alpha: 0.2 });
    expect(w.name).toBe('wrap(demo)');
    expect(w.options).toMatchObject({ budget: 32, alpha: 0.2 });
    expect(() => wrapper.createMethod({ budget: 32, bogus: 1 })).toThrow('demo: unknown option "bogus"');
  });

  it('refuses a method name the command line could not use', () => {
    expect(() =>
      defineMethod({ name: 'Snap KV', summary: '', options: {}, build: () => demo.create({ budget: 4 }) }),
    ).toThrow(/name must be lowercase letters, digits and dashes/);
  });

  it('builds methods that run: a short prompt under a ratio budget shrinks the window and says so', async () => {
    const backend = new CpuBackend();
    const model = { numLayers: 1, numHeads: 2, numKvHeads: 1, headDim: 4 };
    const run = demo.create({ budget: { ratio: 0.5 } }).begin(model, { length: 10 });
    expect(run.observe.window).toBe(2);
    const ctx = createLayerContext({
      backend,
      model,
      layer: 0,
      keys: backend.upload(
        Float32Array.from({ length: 40 }, (_, i) => Math.sin(i)),
        [1, 10, 4],
        'f32',
      ),
      windowQueries: backend.upload(
        Float32Array.from({ length: 16 }, (_, i) => Math.cos(i)),
        [2, 2, 4],
        'f32',
      ),
      positions: Int32Array.from({ length: 10 }, (_, i) => i),
    });
    const d = await run.afterLayer(ctx);
    ctx.release();
    expect((d.keep as Int32Array[])[0]!.length).toBe(5);
    expect(d.note).toBe('window 8 shrunk to 2 to fit the budget (50% of the prompt: 5 of 10 tokens)');
  });
});
