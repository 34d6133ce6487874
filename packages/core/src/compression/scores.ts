import type { Backend, ReduceOp } from '../backend/backend.js';
import { validateReduceOp } from '../backend/validate.js';
import { OptionError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';

/** How {@link poolScores} smooths scores along tokens: average or max pooling with an odd kernel, or not at all. */
export type Pooling = 'avgpool' | 'maxpool' | 'none';
/** Every {@link Pooling}, for option validation and help text. */
export const POOLINGS: readonly Pooling[] = ['avgpool', 'maxpool', 'none'];

/**
 * Reduce per-query-head scores `[H, L]` to KV heads (`[Hkv, L]`) and keep the prefix columns
 * `[Hkv, L − window]`. GQA groups are reduced before any pooling, as the reference does.
 */
export function reduceToKvHeads(
  backend: Backend,
  perQueryHead: Tensor,
  kvHeads: number,
  window: number,
  reduce: ReduceOp,
): Tensor {
  validateReduceOp('reduceToKvHeads', reduce);
  const [H, L] = perQueryHead.shape as [number, number];
  const grouped = backend.reduceGroups(perQueryHead, H / kvHeads, reduce);
  const prefix = backend.narrow(grouped, 0, L - window);
  grouped.dispose();
  return prefix;
}

/**
 * Throws an `OptionError` naming `where` unless `pooling` is one of {@link POOLINGS} and, when it
 * pools, `kernel` is an odd positive integer (the kernel is ignored for `'none'`).
 */
export function validatePooling(pooling: string, kernel: number, where: string): void {
  if (!(POOLINGS as readonly string[]).includes(pooling)) {
    throw new OptionError(
      `${where}: pooling must be one of ${POOLINGS.join(', ')}, got ${JSON.stringify(pooling)}`,
    );
  }
  if (pooling !== 'none' && (!Number.isInteger(kernel) || kernel < 1 || kernel % 2 === 0)) {
    throw new OptionError(
      `${where}: kernel must be an odd positive integer (1, 3, 5, 7, ...), got ${kernel}`,
    );
  }
}

/** Pool scores `[R, n]` along tokens; 'none' returns a new tensor equal to the input. */
export function poolScores(backend: Backend, scores: Tensor, pooling: Pooling, kernel: number): Tensor {
  validatePooling(pooling, kernel, 'poolScores');
  if (pooling === 'none') return backend.scale(scores, 1);
  return backend.pool1d(scores, { kernel, mode: pooling === 'avgpool' ? 'avg' : 'max' });
}

/** Options of {@link observationScorer}; all optional. */
export interface ObservationScorerOptions {
  /** How the query heads of a GQA group combine (before pooling). Default 'mean'. */
  readonly reduce?: ReduceOp;
  /** How scores are smoothed along tokens (after the GQA reduction). Default 'avgpool'. */
  readonly pooling?: Pooling;
  /** Odd pooling kernel; default 5. */
  readonly kernel?: number;
}

/**
 * SnapKV's scorer: observation-window scores reduced over each GQA group, then pooled. Options are
 * validated here, at construction.
 */
export function observationScorer(opts: ObservationScorerOptions = {}): {
  /** Always `'window'`. */
  readonly name: string;
  /**
   * The layer's prefix scores `[kvHeads, length − window]`, reduced and pooled, as a new tensor
   * the caller disposes (the context's cached `prefixScores` stay owned by the context).
   */
  score(ctx: { backend: Backend; prefixScores(o: { reduce: ReduceOp }): Tensor }): Tensor;
} {
  const reduce = opts.reduce ?? 'mean';
  const pooling = opts.pooling ?? 'avgpool';
  const kernel = opts.kernel ?? 5;
  validateReduceOp('observationScorer', reduce);
  validatePooling(pooling, kernel, 'observationScorer');
  return {
    name: 'window',
    score: (ctx) => poolScores(ctx.backend, ctx.prefixScores({ reduce }), pooling, kernel),
  };
}
