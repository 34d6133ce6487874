import { type Budget, observationScorer, type Pooling, type ReduceOp, uniformAllocator } from '@kvsieve/core';
import {
  type ComposableMethod,
  composable,
  type RawOptions,
  readWindowScoreOptions,
  rejectUnknownOptions,
  WINDOW_SCORE_OPTION_NAMES,
} from '@kvsieve/method-kit';

export interface SnapKVOptions {
  /** Tokens kept per KV head, window included: a count, `{ tokens }` or `{ ratio }` of the prompt. */
  readonly budget: Budget;
  /** Observation window `w` (last prompt tokens, always kept). Default 32, as the reference code. */
  readonly window?: number;
  /** Odd pooling kernel. Default 5 (the reference's LongBench configs use 7 with max pooling). */
  readonly kernel?: number;
  /** Default 'avgpool'. */
  readonly pooling?: Pooling;
  /** How the query heads sharing a KV head combine, before pooling. Default 'mean'. */
  readonly gqaReduce?: ReduceOp;
}

/** Defaults of FasterDecoding/SnapKV and KVCache-Factory's `SnapKVCluster`. */
export const SNAPKV_DEFAULTS = { window: 32, kernel: 5, pooling: 'avgpool', gqaReduce: 'mean' } as const;

/**
 * SnapKV: the last `window` queries vote for the prefix tokens they attend to; votes are pooled
 * along tokens and each KV head keeps its top `budget − window` prefix tokens plus the window.
 */
export function snapkv(options: SnapKVOptions): ComposableMethod {
  const o = readWindowScoreOptions('snapkv', options as unknown as RawOptions, SNAPKV_DEFAULTS);
  return composable({
    name: 'snapkv',
    options: { ...o },
    budget: o.budget,
    window: o.window,
    scorer: observationScorer({ reduce: o.gqaReduce, pooling: o.pooling, kernel: o.kernel }),
    allocator: uniformAllocator({ budget: o.budget, window: o.window }),
  });
}

/** For the command line: options by name, unknown names rejected. */
export function createMethod(options: Record<string, unknown>): ComposableMethod {
  rejectUnknownOptions('snapkv', options, WINDOW_SCORE_OPTION_NAMES);
  return snapkv(options as unknown as SnapKVOptions);
}
