import {
  KvsieveError,
  OptionError,
  type ReduceOp,
  reduceToKvHeads,
  type Scorer,
  ShapeError,
  scoreAllocateSelect,
} from '@kvsieve/core';
import { defineMethod, type OptionsInput, option, REDUCTIONS } from '@kvsieve/method-kit';

/**
 * The runtime did not hand over what the method asked for in `observe` (all prompt queries, or the
 * decode step's attention), or the decode form was stepped before its prefill: a runtime bug, not
 * bad user input.
 */
export class MissingInputError extends KvsieveError {
  /** `'MissingInputError'`: the class's name, for messages and `err.name` checks. */
  override name = 'MissingInputError';
}

/** H2O's prefill defaults (those of KVCache-Factory's `H2OKVCluster`, with SnapKV's window). */
export const H2O_DEFAULTS = {
  /** The last 32 prompt tokens, always kept and not scored. */
  window: 32,
  /** The query heads sharing a KV head average their column sums. */
  gqaReduce: 'mean',
} as const;

/**
 * Heavy-hitter scores: for each key, the attention it receives summed over every prompt query
 * (causal), reduced over each GQA group. The backend's `attentionColumnSums` with all `L` queries
 * is exactly these column sums, accumulated row by row, never as an `L × L` matrix.
 */
export function heavyHitterScorer(gqaReduce: ReduceOp = 'mean'): Scorer {
  if (!REDUCTIONS.includes(gqaReduce)) {
    throw new OptionError(
      `heavyHitterScorer: option "gqaReduce" must be one of ${REDUCTIONS.map((r) => `"${r}"`).join(', ')}, got ${JSON.stringify(gqaReduce)}`,
    );
  }
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
export const definition = defineMethod({
  name: 'h2o',
  summary:
    'Heavy hitters: each KV head keeps the budget − window prefix tokens that received the most attention from every prompt query, plus the window.',
  options: {
    /** Tokens kept per KV head, window included (`C`): `n`, `{ tokens: n }` or `{ ratio: r }`. Required. */
    budget: option.budget({
      doc: 'Tokens kept per KV head, window included: a count, { tokens } or { ratio } of the prompt.',
    }),
    /** The most recent `w` tokens (≥ 1), kept unscored. Default 32, halved when it does not fit a budget in tokens. */
    window: option.window({
      default: H2O_DEFAULTS.window,
      doc: 'Most recent tokens always kept (not scored).',
    }),
    /** How the column sums of the query heads sharing a KV head combine: `'mean'` (default), `'max'` or `'sum'`. */
    gqaReduce: option.choice(REDUCTIONS, {
      default: H2O_DEFAULTS.gqaReduce,
      doc: 'How the query heads sharing a KV head combine.',
    }),
  },
  build: (o) =>
    scoreAllocateSelect({
      name: 'h2o',
      budget: o.budget,
      window: o.window,
      scorer: heavyHitterScorer(o.gqaReduce),
    }),
});

/**
 * What {@link h2o} takes: `budget` (required), `window` and `gqaReduce` (defaults in
 * {@link H2O_DEFAULTS}). The runtime must hand over every prompt query (`observe.allQueries`),
 * which costs one `[heads, L, headDim]` tensor per layer during prefill.
 */
export type H2OOptions = OptionsInput<typeof definition.options>;
/** H2O (prefill form) with typed options. */
export const h2o = definition.create;
/** For the command line: options by name, unknown names rejected. */
export const createMethod = definition.createMethod;
