import { OptionError, ShapeError } from '@kvsieve/core';

/** How the INFsc of the query heads sharing a KV head become that KV head's score. */
export type HeadReduce = 'sum' | 'max';
/** Every {@link HeadReduce}, in the order the command line lists them. */
export const HEAD_REDUCES: readonly HeadReduce[] = ['sum', 'max'];

/**
 * Per-KV-head scores `[numLayers][numKvHeads]` from per-query-head INFsc `[numLayers][numHeads]`.
 * Query heads `h·G … h·G + G − 1` read KV head h (G = numHeads / numKvHeads), as the runtime's
 * GQA grouping. 'sum' (default) gives the KV head the group's share of the total INFsc, so the
 * budget a KV head gets is what its query heads earned together; 'max' follows the group's best
 * head only (one retrieval head in a group is enough to keep its KV head's tokens).
 */
export function kvHeadScores(
  infsc: readonly (readonly number[])[],
  numKvHeads: number,
  reduce: HeadReduce = 'sum',
): Float64Array[] {
  return infsc.map((row, l) => {
    if (row.length % numKvHeads !== 0) {
      throw new ShapeError(
        `kvHeadScores: layer ${l} has ${row.length} query heads, not a multiple of ${numKvHeads} KV heads`,
      );
    }
    const G = row.length / numKvHeads;
    const out = new Float64Array(numKvHeads);
    for (let h = 0; h < numKvHeads; h++) {
      const group = row.slice(h * G, (h + 1) * G);
      out[h] = reduce === 'max' ? Math.max(...group) : group.reduce((a, b) => a + b, 0);
    }
    return out;
  });
}

/**
 * Input of {@link twoStageAllocation}, in prefix tokens (window excluded). `prefixBudget`, `base`
 * and `cap` must be integers ≥ 0 with `base ≤ prefixBudget`, and scores finite and ≥ 0, or it
 * throws an `OptionError`.
 */
export interface TwoStageInput {
  /** Scores `[numLayers][numKvHeads]` (any nonnegative scale: only proportions matter). */
  readonly scores: readonly ArrayLike<number>[];
  /** Prefix tokens per KV head on average (the budget minus the window): the total is this × heads. */
  readonly prefixBudget: number;
  /** Stage 1: prefix tokens every KV head gets first. */
  readonly base: number;
  /** Most prefix tokens a head can use (the prompt length minus the window). */
  readonly cap: number;
}

/**
 * SurfaceLogicKV's two-stage allocation over every KV head of every layer, in prefix tokens (the
 * window is kept on top). Stage 1 gives each head `min(base, cap)`. Stage 2 shares the rest of the
 * total `prefixBudget · heads` in proportion to the scores; a head that would exceed `cap` is
 * filled to `cap` and its surplus is shared again among the others (proportionally; equally among
 * the remaining heads once every scored head is full, or when no head has a score). Whole tokens
 * by largest remainder, ties to the lower (layer, head). The result sums to the total exactly
 * unless every head is full.
 */
export function twoStageAllocation(input: TwoStageInput): Int32Array[] {
  const { scores, prefixBudget, base, cap } = input;
  for (const [name, v] of [
    ['prefixBudget', prefixBudget],
    ['base', base],
    ['cap', cap],
  ] as const) {
    if (!Number.isInteger(v) || v < 0)
      throw new OptionError(`twoStageAllocation: ${name} must be an integer ≥ 0, got ${v}`);
  }
  if (base > prefixBudget) {
    throw new OptionError(
      `twoStageAllocation: the stage-1 base (${base}) exceeds the prefix budget per head (${prefixBudget})`,
    );
  }
  const flat: number[] = [];
  const rows = scores.map((r) => r.length);
  for (const row of scores) {
    for (let i = 0; i < row.length; i++) {
      const s = row[i]!;
      if (!(s >= 0) || !Number.isFinite(s))
        throw new OptionError(`twoStageAllocation: scores must be finite and ≥ 0, got ${s}`);
      flat.push(s);
    }
  }
  const n = flat.length;
  const alloc = new Array<number>(n).fill(Math.min(base, cap));
  let remaining = prefixBudget * n - alloc.reduce((a, b) => a + b, 0);
  for (;;) {
    const active = alloc.map((_, i) => i).filter((i) => alloc[i]! < cap);
    if (remaining <= 0 || active.length === 0) break;
    let weights = active.map((i) => flat[i]!);
    let total = weights.reduce((a, b) => a + b, 0);
    if (total === 0) {
      weights = active.map(() => 1);
      total = active.length;
    }
    const shares = weights.map((w) => (remaining * w) / total);
    const full = active.filter((i, k) => shares[k]! >= cap - alloc[i]!);
    if (full.length > 0) {
      for (const i of full) {
        remaining -= cap - alloc[i]!;
        alloc[i] = cap;
      }
      continue;
    }
    // No head reaches its cap: floors, then the leftover by largest remainder (each share is below
    // the head's room, so floor + 1 still fits).
    const order = active.map((i, k) => ({ i, whole: Math.floor(shares[k]!), frac: shares[k]! % 1 }));
    for (const o of order) {
      alloc[o.i]! += o.whole;
      remaining -= o.whole;
    }
    order.sort((a, b) => b.frac - a.frac || a.i - b.i);
    for (const o of order) {
      if (remaining <= 0) break;
      alloc[o.i]! += 1;
      remaining--;
    }
    break;
  }
  const out: Int32Array[] = [];
  let k = 0;
  for (const len of rows) {
    out.push(Int32Array.from(alloc.slice(k, k + len)));
    k += len;
  }
  return out;
}
