import { compareScores, OptionError, ShapeError } from '@kvsieve/core';

/**
 * AdaKV's allocation for one layer. `scores` is `[Hkv, P]` (row-major) and `budgets[h]` the prefix
 * tokens head h would keep under a per-head budget. The layer's total `Σ min(budgets[h], P)` is
 * kept, but shared among heads: every head first takes its `⌊alpha · budgets[h]⌋` best positions
 * (the floor), then the rest of the total goes to the best remaining positions of all heads
 * together, compared by raw score. Returns the new per-head counts.
 * Ties in the global pass go to the lower head, then the lower position, so the result is
 * deterministic.
 */
export function headAdaptiveBudgets(
  scores: Float32Array,
  kvHeads: number,
  prefix: number,
  budgets: Int32Array,
  alpha: number,
): Int32Array {
  if (scores.length !== kvHeads * prefix) {
    throw new ShapeError(`headAdaptiveBudgets: ${scores.length} scores for [${kvHeads}, ${prefix}]`);
  }
  if (budgets.length !== kvHeads)
    throw new ShapeError(`headAdaptiveBudgets: ${budgets.length} budgets for ${kvHeads} KV heads`);
  if (!(alpha >= 0 && alpha <= 1))
    throw new OptionError(`headAdaptiveBudgets: alpha must be in [0, 1], got ${alpha}`);
  const counts = new Int32Array(kvHeads);
  const rest: { h: number; j: number; s: number }[] = [];
  let total = 0;
  for (let h = 0; h < kvHeads; h++) {
    const want = Math.min(budgets[h]!, prefix);
    total += want;
    const floor = Math.min(want, Math.floor(alpha * budgets[h]!));
    counts[h] = floor;
    const row = scores.subarray(h * prefix, (h + 1) * prefix);
    const order = Array.from({ length: prefix }, (_, j) => j).sort((a, b) => compareScores(row, a, b));
    for (let r = floor; r < prefix; r++) rest.push({ h, j: order[r]!, s: row[order[r]!]! });
  }
  let left = total - counts.reduce((a, b) => a + b, 0);
  // Within a head the remaining positions are already in descending order, so taking the global
  // best `left` of them is the same as giving each head its next-best positions: counts suffice.
  rest.sort((a, b) =>
    a.s !== b.s ? (Number.isNaN(a.s) ? 1 : Number.isNaN(b.s) ? -1 : b.s - a.s) : a.h - b.h || a.j - b.j,
  );
  for (const r of rest) {
    if (left === 0) break;
    counts[r.h]! += 1;
    left--;
  }
  return counts;
}
