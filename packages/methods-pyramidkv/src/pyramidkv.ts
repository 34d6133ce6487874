import { observationScorer, scoreAllocateSelect } from '@kvsieve/core';
import { defineMethod, type OptionsInput, option, windowScoreOptions } from '@kvsieve/method-kit';
import { exactPyramidAllocator, pyramidAllocator } from './allocator.js';

/**
 * How per-layer prefix budgets are rounded: `'reference'` uses KVCache-Factory's integer step (the
 * layers' mean overshoots `budget − window` slightly, e.g. 125.5 against 120 for budget 128, window
 * 8, 32 layers); `'exact'` rounds the same line so the layers sum to exactly `N · (budget − window)`.
 */
export type PyramidSchedule = 'reference' | 'exact';
/** Every {@link PyramidSchedule}, in the order the command line lists them. */
export const PYRAMID_SCHEDULES: readonly PyramidSchedule[] = ['reference', 'exact'];

/** PyramidKV's defaults: SnapKV's scoring defaults and KVCache-Factory's `β = 20` line. */
export const PYRAMIDKV_DEFAULTS = {
  /** Observation window `w`: the last 32 prompt tokens vote and are kept in every layer. */
  window: 32,
  /** Pooling kernel along tokens (odd). */
  kernel: 5,
  /** Average pooling, counting the zero padding at the edges (PyTorch's default). */
  pooling: 'avgpool',
  /** The query heads sharing a KV head are averaged into one score row before pooling. */
  gqaReduce: 'mean',
  /** The deepest layer keeps `⌊(budget − window) / β⌋` prefix tokens; the first keeps twice the mean minus that. */
  beta: 20,
  /** KVCache-Factory's integer-step rounding, reproduced exactly. */
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
    /**
     * Steepness of the pyramid (the reference's `beta`, an integer ≥ 1): with `base = budget − window`,
     * the deepest layer keeps `⌊base / β⌋` prefix tokens and the first `2·base − ⌊base / β⌋`, the
     * layers between on a straight line. Larger β: a steeper pyramid. When the first layer's share
     * would exceed the prompt's prefix, the line is clamped there and its slope reduced.
     */
    beta: option.integer({
      default: PYRAMIDKV_DEFAULTS.beta,
      min: 1,
      doc: "Ratio between the first and the deepest layer's prefix budget, as the reference's beta.",
    }),
    /** How the line is rounded to whole tokens per layer (see {@link PyramidSchedule}); default `'reference'`. */
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

/**
 * What {@link pyramidkv} takes: SnapKV's options (`budget` required, tokens per KV head with the
 * window, as the mean over layers; `window`, `kernel`, `pooling`, `gqaReduce`) plus `beta` and
 * `schedule`. Prompts shorter than `2·(budget − window)` get SnapKV's uniform budget in every layer.
 */
export type PyramidKVOptions = OptionsInput<typeof definition.options>;
/** PyramidKV with typed options. */
export const pyramidkv = definition.create;
/** For the command line: options by name, unknown names rejected. */
export const createMethod = definition.createMethod;
