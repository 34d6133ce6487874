import {
  type ComposedMethod,
  readNumberIn,
  rejectUnknownOptions,
  type Selector,
  scoreAllocateSelect,
  topPrefixSelector,
} from '@kvsieve/core';
import { defineMethod, option } from '@kvsieve/method-kit';
import { definition as h2oDefinition } from '@kvsieve/methods-h2o';
import { definition as pyramidkvDefinition } from '@kvsieve/methods-pyramidkv';
import { definition as snapkvDefinition } from '@kvsieve/methods-snapkv';
import { headAdaptiveBudgets } from './head-budgets.js';

/** Options of {@link adakv}, beside the wrapped method (which carries its own budget and window). */
export interface AdaKVOptions {
  /** Fraction of each head's own prefix budget it keeps whatever the other heads score. Default 0.2. */
  readonly alpha?: number;
}

/** AdaKV's default: the per-head floor `α = 0.2` of the AdaKV paper (a share of each head's own budget). */
export const ADAKV_DEFAULTS = {
  /** Floor per head, as a fraction of that head's uniform prefix budget. */
  alpha: 0.2,
} as const;

const ALPHA = { min: 0, max: 1, range: '[0, 1]' } as const;

/**
 * A selector that first re-divides the layer's budget among KV heads ({@link headAdaptiveBudgets})
 * and then lets `base` pick each head's top positions with those counts.
 */
export function adaptiveSelector(alpha: number, base: Selector = topPrefixSelector): Selector {
  readNumberIn('adaptiveSelector', 'alpha', alpha, ALPHA);
  return {
    name: `head-adaptive(${base.name}, alpha ${alpha})`,
    async select(ctx, scores, budgets) {
      const [kvHeads, prefix] = scores.shape as [number, number];
      const counts = headAdaptiveBudgets(await scores.readF32(), kvHeads, prefix, budgets, alpha);
      return base.select(ctx, scores, counts);
    },
  };
}

/**
 * AdaKV: wraps a scored method (SnapKV, PyramidKV, H2O, …) and keeps its scorer and its per-layer
 * total, but lets heads whose attention is spread out take budget from heads whose attention is
 * concentrated, with a floor of `alpha` of the per-head budget. The wrapped method is not changed.
 */
export function adakv(method: ComposedMethod, options: AdaKVOptions = {}): ComposedMethod {
  rejectUnknownOptions('adakv', options, ['alpha']);
  const alpha = readNumberIn('adakv', 'alpha', options.alpha ?? ADAKV_DEFAULTS.alpha, ALPHA);
  return scoreAllocateSelect({
    name: `adakv(${method.name})`,
    options: { ...method.options, method: method.name, alpha },
    budget: method.budget,
    window: method.window,
    scorer: method.scorer,
    allocator: method.allocator,
    selector: adaptiveSelector(alpha, method.selector),
  });
}

/** The methods AdaKV can wrap from the command line, by name. */
const SCORED = {
  snapkv: snapkvDefinition.createMethod,
  pyramidkv: pyramidkvDefinition.createMethod,
  h2o: h2oDefinition.createMethod,
} as const;

/**
 * For the command line: `{ method: 'snapkv' | 'pyramidkv' | 'h2o' (default 'snapkv'), alpha, …the
 * wrapped method's options }`; the wrapped method checks its own options.
 */
export const definition = defineMethod({
  name: 'adakv',
  summary:
    "Head-adaptive budgets around a scored method: heads whose attention is spread out take budget from heads whose attention is concentrated, the layer's total kept, with a floor per head.",
  passThrough: true,
  options: {
    /** The scored method whose scorer, allocator and per-layer totals are kept: `snapkv` (default), `pyramidkv` or `h2o`. */
    method: option.choice(['snapkv', 'pyramidkv', 'h2o'] as const, {
      default: 'snapkv',
      doc: 'The scored method to wrap; its options are given beside these.',
    }),
    /**
     * Floor per head, in [0, 1]: each head keeps at least `⌊alpha · budget⌋` of its own best prefix
     * positions before the rest of the layer's total is shared by raw score. 1 is the wrapped method
     * unchanged; 0 lets one head take everything. Default 0.2.
     */
    alpha: option.number({
      default: ADAKV_DEFAULTS.alpha,
      ...ALPHA,
      doc: "Fraction of each head's own prefix budget it keeps whatever the other heads score.",
    }),
  },
  build: (o, rest) => adakv(SCORED[o.method](rest), { alpha: o.alpha }),
});

/** For the command line: options by name; the wrapped method rejects unknown ones. */
export const createMethod = definition.createMethod;
