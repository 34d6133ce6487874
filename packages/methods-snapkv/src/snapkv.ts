import { observationScorer, scoreAllocateSelect } from '@kvsieve/core';
import { defineMethod, type OptionsInput, windowScoreOptions } from '@kvsieve/method-kit';

/** Defaults of FasterDecoding/SnapKV and KVCache-Factory's `SnapKVCluster`. */
export const SNAPKV_DEFAULTS = {
  /** Observation window `w`: the last 32 prompt tokens vote and are always kept (kvpress uses 64). */
  window: 32,
  /** Pooling kernel `k` along tokens (odd; the reference's LongBench configs use 7 with max pooling). */
  kernel: 5,
  /** Average pooling, counting the zero padding at the edges (PyTorch's default). */
  pooling: 'avgpool',
  /** The query heads sharing a KV head are averaged into one score row before pooling. */
  gqaReduce: 'mean',
} as const;

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

/**
 * What {@link snapkv} takes: `budget` (required; tokens per KV head, window included: `n`,
 * `{ tokens: n }` or `{ ratio: r }`), and optionally `window`, `kernel`, `pooling` and `gqaReduce`
 * (defaults in {@link SNAPKV_DEFAULTS}). A window that does not fit a budget in tokens is refused
 * when given and halved when defaulted.
 */
export type SnapKVOptions = OptionsInput<typeof definition.options>;
/** SnapKV with typed options. */
export const snapkv = definition.create;
/** For the command line: options by name, unknown names rejected. */
export const createMethod = definition.createMethod;
