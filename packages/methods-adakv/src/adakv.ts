import { OptionError, type Selector, topPrefixSelector } from '@kvsieve/core';
import {
  type ComposableMethod,
  composable,
  type RawOptions,
  readNumber,
  rejectUnknownOptions,
} from '@kvsieve/method-kit';
import { createMethod as createH2O } from '@kvsieve/methods-h2o';
import { createMethod as createPyramidKV } from '@kvsieve/methods-pyramidkv';
import { createMethod as createSnapKV } from '@kvsieve/methods-snapkv';
import { headAdaptiveBudgets } from './head-budgets.js';

export interface AdaKVOptions {
  /** Fraction of each head's own prefix budget it keeps whatever the other heads score. Default 0.2. */
  readonly alpha?: number;
}

export const ADAKV_DEFAULTS = { alpha: 0.2 } as const;

/**
 * A selector that first re-divides the layer's budget among KV heads ({@link headAdaptiveBudgets})
 * and then lets `base` pick each head's top positions with those counts.
 */
export function adaptiveSelector(alpha: number, base: Selector = topPrefixSelector): Selector {
  readNumber('adaptiveSelector', 'alpha', alpha, ADAKV_DEFAULTS.alpha, { min: 0, max: 1, text: '[0, 1]' });
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
export function adakv(method: ComposableMethod, options: AdaKVOptions = {}): ComposableMethod {
  const raw = options as unknown as RawOptions;
  rejectUnknownOptions('adakv', raw, ['alpha']);
  const alpha = readNumber('adakv', 'alpha', raw.alpha, ADAKV_DEFAULTS.alpha, {
    min: 0,
    max: 1,
    text: '[0, 1]',
  });
  return composable({
    name: `adakv(${method.name})`,
    options: { ...method.options, method: method.name, alpha },
    budget: method.budget,
    window: method.window,
    scorer: method.scorer,
    allocator: method.allocator,
    selector: adaptiveSelector(alpha, method.selector),
  });
}

const SCORED: Readonly<Record<string, (o: Record<string, unknown>) => ComposableMethod>> = {
  snapkv: createSnapKV,
  pyramidkv: createPyramidKV,
  h2o: createH2O,
};

/**
 * For the command line: `{ method: 'snapkv' | 'pyramidkv' | 'h2o' (default 'snapkv'), alpha, …the
 * wrapped method's options }`; unknown names are rejected by the wrapped method.
 */
export function createMethod(options: Record<string, unknown>): ComposableMethod {
  const { method = 'snapkv', alpha, ...rest } = options;
  const make = typeof method === 'string' ? SCORED[method] : undefined;
  if (!make) {
    throw new OptionError(
      `adakv: option "method" must be one of ${Object.keys(SCORED)
        .map((k) => `"${k}"`)
        .join(', ')}, got ${JSON.stringify(method)}`,
    );
  }
  return adakv(make(rest), alpha === undefined ? {} : { alpha: alpha as number });
}
