import {
  type Budget,
  KvsieveError,
  type ReduceOp,
  reduceToKvHeads,
  type Scorer,
  ShapeError,
  uniformAllocator,
} from '@kvsieve/core';
import {
  type ComposableMethod,
  composable,
  type RawOptions,
  REDUCTIONS,
  readBudget,
  readChoice,
  readWindow,
  rejectUnknownOptions,
} from '@kvsieve/method-kit';

/** The runtime did not hand over what the method asked for in `observe`. */
export class MissingInputError extends KvsieveError {
  override name = 'MissingInputError';
}

export interface H2OOptions {
  /** Tokens kept per KV head, window included: a count, `{ tokens }` or `{ ratio }` of the prompt. */
  readonly budget: Budget;
  /** Most recent tokens always kept (not scored). Default 32, as KVCache-Factory. */
  readonly window?: number;
  /** How the query heads sharing a KV head combine. Default 'mean'. */
  readonly gqaReduce?: ReduceOp;
}

export const H2O_DEFAULTS = { window: 32, gqaReduce: 'mean' } as const;
export const H2O_OPTION_NAMES = ['budget', 'window', 'gqaReduce'] as const;

/**
 * Heavy-hitter scores: for each key, the attention it receives summed over every prompt query
 * (causal), reduced over each GQA group. The backend's `attentionColumnSums` with all `L` queries as the
 * "window" is exactly these column sums, accumulated row by row, never as an `L × L` matrix.
 */
export function heavyHitterScorer(gqaReduce: ReduceOp = 'mean'): Scorer {
  readChoice('heavyHitterScorer', 'gqaReduce', gqaReduce, 'mean', REDUCTIONS);
  return {
    name: 'heavy-hitter',
    needsAllQueries: true,
    score(ctx) {
      const q = ctx.allQueries;
      if (!q) {
        throw new MissingInputError(
          `h2o layer ${ctx.layer}: the context has no allQueries; the runtime must honour observe.allQueries = true`,
        );
      }
      if (q.rank !== 3 || q.shape[1] !== ctx.length) {
        throw new ShapeError(
          `h2o layer ${ctx.layer}: allQueries must be [heads, ${ctx.length}, headDim], got [${q.shape.join(', ')}]`,
        );
      }
      const columnSums = ctx.backend.attentionColumnSums(q, ctx.keys);
      try {
        return reduceToKvHeads(ctx.backend, columnSums, ctx.keys.shape[0]!, ctx.window, gqaReduce);
      } finally {
        columnSums.dispose();
      }
    },
  };
}

/**
 * H2O, prefill form (KVCache-Factory `H2OKVCluster`): keep the `budget − window` prefix tokens with
 * the largest accumulated attention over all prompt queries, plus the last `window` tokens.
 */
export function h2o(options: H2OOptions): ComposableMethod {
  const raw = options as unknown as RawOptions;
  const budget = readBudget('h2o', raw.budget);
  const window = readWindow('h2o', raw.window, H2O_DEFAULTS.window, budget);
  const gqaReduce = readChoice('h2o', 'gqaReduce', raw.gqaReduce, H2O_DEFAULTS.gqaReduce, REDUCTIONS);
  return composable({
    name: 'h2o',
    options: { budget, window, gqaReduce },
    budget,
    window,
    scorer: heavyHitterScorer(gqaReduce),
    allocator: uniformAllocator({ budget, window }),
  });
}

/** For the command line: options by name, unknown names rejected. */
export function createMethod(options: Record<string, unknown>): ComposableMethod {
  rejectUnknownOptions('h2o', options, H2O_OPTION_NAMES);
  return h2o(options as unknown as H2OOptions);
}
