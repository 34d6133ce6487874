import type { Backend } from '../backend/backend.js';
import { OptionError, ShapeError } from '../errors.js';
import type { Selection } from '../kv-cache/layer-cache.js';
import type { Tensor } from '../tensor/tensor.js';

/** Per KV head, how many prefix tokens (outside the window) to keep; `null` keeps the whole layer. */
export type LayerBudget = Int32Array | null;

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

/** Keep every token of every head. */
export function keepAll(kvHeads: number, length: number): Selection {
  return Array.from({ length: kvHeads }, () => Int32Array.from(range(0, length)));
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

/** StreamingLLM: the first `sinks` positions and the most recent `capacity − sinks`. */
export function selectSinksAndRecent(
  kvHeads: number,
  length: number,
  sinks: number,
  capacity: number,
): Selection {
  if (length <= capacity) return keepAll(kvHeads, length);
  const kept = [...range(0, sinks), ...range(length - (capacity - sinks), length)];
  return Array.from({ length: kvHeads }, () => Int32Array.from(kept));
}
