import { type Budget, observationScorer, type Pooling, pyramidAllocator, type ReduceOp } from '@kvsieve/core';
import {
  type ComposableMethod,
  composable,
  type RawOptions,
  readChoice,
  readInt,
  readWindowScoreOptions,
  rejectUnknownOptions,
  WINDOW_SCORE_OPTION_NAMES,
} from '@kvsieve/method-kit';
import { exactPyramidAllocator } from './exact-schedule.js';

export interface PyramidKVOptions {
  /** Mean tokens kept per KV head, window included: a count, `{ tokens }` or `{ ratio }` of the prompt. */
  readonly budget: Budget;
  /** Observation window `w`. Default 32, as KVCache-Factory. */
  readonly window?: number;
  /** Odd pooling kernel. Default 5. */
  readonly kernel?: number;
  /** Default 'avgpool'. */
  readonly pooling?: Pooling;
  /** How the query heads sharing a KV head combine, before pooling. Default 'mean'. */
  readonly gqaReduce?: ReduceOp;
  /** Ratio between the deepest and the first layer's prefix budget, as the reference's `beta`. Default 20. */
  readonly beta?: number;
  /**
   * 'reference' (default): KVCache-Factory's integer step, which overshoots the mean budget slightly.
   * 'exact': the same line rounded so that the layers' budgets sum to exactly `numLayers · (budget − window)`.
   */
  readonly schedule?: PyramidSchedule;
}

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
export function pyramidkv(options: PyramidKVOptions): ComposableMethod {
  const raw = options as unknown as RawOptions;
  const o = readWindowScoreOptions('pyramidkv', raw, PYRAMIDKV_DEFAULTS);
  const beta = readInt('pyramidkv', 'beta', raw.beta, PYRAMIDKV_DEFAULTS.beta, { min: 1 });
  const schedule = readChoice(
    'pyramidkv',
    'schedule',
    raw.schedule,
    PYRAMIDKV_DEFAULTS.schedule,
    PYRAMID_SCHEDULES,
  );
  const allocate = schedule === 'exact' ? exactPyramidAllocator : pyramidAllocator;
  return composable({
    name: 'pyramidkv',
    options: { ...o, beta, schedule },
    budget: o.budget,
    window: o.window,
    scorer: observationScorer({ reduce: o.gqaReduce, pooling: o.pooling, kernel: o.kernel }),
    allocator: allocate({ budget: o.budget, window: o.window, beta }),
  });
}

/** For the command line: options by name, unknown names rejected. */
export function createMethod(options: Record<string, unknown>): ComposableMethod {
  rejectUnknownOptions('pyramidkv', options, [...WINDOW_SCORE_OPTION_NAMES, 'beta', 'schedule']);
  return pyramidkv(options as unknown as PyramidKVOptions);
}
