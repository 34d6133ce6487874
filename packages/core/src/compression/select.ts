import type { Backend } from '../backend/backend.js';
import { OptionError, ShapeError } from '../errors.js';
import type { Selection } from '../kv-cache/layer-cache.js';
import type { Tensor } from '../tensor/tensor.js';

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

/** All entries of a head: `[0, n)`. */
export function allEntries(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/** Keep every token of every head. */
export function keepAll(kvHeads: number, length: number): Selection {
  return Array.from({ length: kvHeads }, () => allEntries(length));
}

/**
 * The first `sinks` of `n` entries and the most recent `budget − sinks` (StreamingLLM's choice, and
 * the sliding decode budget's); all of them when `n ≤ budget`.
 */
export function sinksAndRecent(n: number, budget: number, sinks: number): Int32Array {
  if (n <= budget) return allEntries(n);
  const recent = budget - sinks;
  return Int32Array.from({ length: budget }, (_, j) => (j < sinks ? j : n - recent + (j - sinks)));
}

/**
 * Per head, the `budgets[h]` best prefix positions by `scores [Hkv, P]` (P = length − window), plus
 * the window positions P … length − 1; ascending. Ties go to the lower index (any tie is correct).
 */
export async function selectTopPrefix(
  backend: Backend,
  scores: Tensor,
  budgets: Int32Array,
  length: number,
  window: number,
): Promise<Selection> {
  const [Hkv, P] = scores.shape as [number, number];
  if (scores.rank !== 2 || P !== length - window) {
    throw new ShapeError(
      `selectTopPrefix: scores must be [kvHeads, ${length - window}], got [${scores.shape.join(', ')}]`,
    );
  }
  if (budgets.length !== Hkv)
    throw new ShapeError(`selectTopPrefix: ${budgets.length} budgets for ${Hkv} KV heads`);
  budgets.forEach((b, h) => {
    if (!Number.isInteger(b) || b < 0) throw new OptionError(`selectTopPrefix: budget of head ${h} is ${b}`);
  });
  const k = Math.min(P, Math.max(...budgets));
  let top: Int32Array = new Int32Array(0);
  if (k > 0) {
    const t = backend.topk(scores, k);
    top = await t.readI32();
    t.dispose();
  }
  const windowPositions = range(P, length);
  return Array.from({ length: Hkv }, (_, h) => {
    const take = Math.min(budgets[h]!, P);
    const picked = Array.from(top.subarray(h * k, h * k + take)).sort((a, b) => a - b);
    return Int32Array.from([...picked, ...windowPositions]);
  });
}
