import { observationScorer, scoreAllocateSelect } from '@kvsieve/core';
import { defineMethod, type OptionsInput, option, windowScoreOptions } from '@kvsieve/method-kit';
import { exactPyramidAllocator, pyramidAllocator } from './allocator.js';

export type PyramidSchedule = 'reference' | 'exact';
export const PYRAMID_SCHEDULES: readonly PyramidSchedule[] = ['reference', 'exact'];

export const PYRAMIDKV_DEFAULTS = {
  window: 32,
  kernel: 5,
  pooling: 'avgpool',
  gqaReduce: 'mean',
  beta: 20,
  schedule: 'reference',
} as const;

/**
 * PyramidKV: SnapKV's scores with a prefix budget that shrinks linearly from the first layer to the
 * last, reproducing KVCache-Factory's `PyramidKVCluster` schedule exactly (its integer step makes
 * the mean budget overshoot the target slightly).
 */
export const definition = defineMethod({
  name: 'pyramidkv',
  summary:
    "SnapKV's scores with a prefix budget that shrinks linearly from the first layer to the last (KVCache-Factory's PyramidKVCluster schedule).",
  options: {
    ...windowScoreOptions(PYRAMIDKV_DEFAULTS),
    beta: option.integer({
      default: PYRAMIDKV_DEFAULTS.beta,
      min: 1,
      doc: "Ratio between the first and the deepest layer's prefix budget, as the reference's beta.",
    }),
    schedule: option.choice(PYRAMID_SCHEDULES, {
      default: PYRAMIDKV_DEFAULTS.schedule,
      doc: "'reference': KVCache-Factory's integer step (overshoots the mean slightly); 'exact': layers sum to exactly numLayers · (budget − window).",
    }),
  },
  build: (o) =>
    scoreAllocateSelect({
      name: 'pyramidkv',
      budget: o.budget,
      window: o.window,
      scorer: observationScorer({ reduce: o.gqaReduce, pooling: o.pooling, kernel: o.kernel }),
      allocator: o.schedule === 'exact' ? exactPyramidAllocator(o.beta) : pyramidAllocator(o.beta),
    }),
});

export type PyramidKVOptions = OptionsInput<typeof definition.options>;
/** PyramidKV with typed options. */
export const pyramidkv = definition.create;
/** For the command line: options by name, unknown names rejected. */
export const createMethod = definition.createMethod;
