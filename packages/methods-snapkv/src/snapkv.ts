import { observationScorer, scoreAllocateSelect } from '@kvsieve/core';
import { defineMethod, type OptionsInput, windowScoreOptions } from '@kvsieve/method-kit';

/** Defaults of FasterDecoding/SnapKV and KVCache-Factory's `SnapKVCluster`. */
export const SNAPKV_DEFAULTS = { window: 32, kernel: 5, pooling: 'avgpool', gqaReduce: 'mean' } as const;

/**
 * SnapKV: the last `window` queries vote for the prefix tokens they attend to; votes are pooled
 * along tokens and each KV head keeps its top `budget − window` prefix tokens plus the window.
 */
export const definition = defineMethod({
  name: 'snapkv',
  summary:
    'The last window queries vote for the prefix tokens they attend to; votes are pooled along tokens and each KV head keeps its top budget − window prefix tokens plus the window.',
  options: windowScoreOptions(SNAPKV_DEFAULTS),
  build: (o) =>
    scoreAllocateSelect({
      name: 'snapkv',
      budget: o.budget,
      window: o.window,
      scorer: observationScorer({ reduce: o.gqaReduce, pooling: o.pooling, kernel: o.kernel }),
    }),
});

export type SnapKVOptions = OptionsInput<typeof definition.options>;
/** SnapKV with typed options. */
export const snapkv = definition.create;
/** For the command line: options by name, unknown names rejected. */
export const createMethod = definition.createMethod;
