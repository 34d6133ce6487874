import { compareScores, type Tensor } from '@kvsieve/core';
import type { OpEnv } from '../../env.js';

/**
 * Indices i32 `[R, k]` of each row's k largest values in core's score order (larger first, NaN
 * last, ties to the lower index: `compareScores`, a strict total order, so the answer is unique
 * and equals the CPU's full sort). Small k (greedy decoding's argmax over a vocabulary, k = 1)
 * is selected in one pass with a heap of the k best so far, O(n log k), and only those k are
 * sorted: sorting all 49,152 logits of a SmolLM2 step took a fifth of its decode time.
 */
export function topkWasm(env: OpEnv, x: Tensor, R: number, n: number, k: number): Tensor {
  const out = env.out([R, k], 'i32', 'topk');
  const v = env.views.f32(env.ptr(x, 'topk'), R * n);
  const o = env.views.i32(out.storage.ptr, R * k);
  if (k === 1) {
    // Greedy decoding's argmax: one scan, no copy, no calls.
    for (let r = 0; r < R; r++) o[r] = argmax(v, r * n, n);
    return out;
  }
  // Each row is copied out once: the comparisons then read a plain array, not the shared memory.
  const row = new Float32Array(n);
  const full = 8 * k >= n;
  const order = new Int32Array(full ? n : k);
  for (let r = 0; r < R; r++) {
    row.set(v.subarray(r * n, (r + 1) * n));
    if (full) {
      for (let i = 0; i < n; i++) order[i] = i;
      order.sort((a, b) => compareScores(row, a, b));
    } else {
      selectTop(row, k, order);
      order.sort((a, b) => compareScores(row, a, b));
    }
    o.set(order.subarray(0, k), r * k);
  }
  return out;
}

/**
 * The k best indices of `row` (in no order) into `heap`: a binary heap whose root is the worst of
 * the best so far, replaced whenever a later index ranks before it.
 */
function selectTop(row: Float32Array, k: number, heap: Int32Array): void {
  // a ranks after b in compareScores order (the heap's "greater").
  const after = (a: number, b: number) => compareScores(row, a, b) > 0;
  const siftDown = (at: number) => {
    for (;;) {
      const l = 2 * at + 1;
      if (l >= k) return;
      const c = l + 1 < k && after(heap[l + 1]!, heap[l]!) ? l + 1 : l;
      if (!after(heap[c]!, heap[at]!)) return;
      const t = heap[at]!;
      heap[at] = heap[c]!;
      heap[c] = t;
      at = c;
    }
  };
  for (let i = 0; i < k; i++) heap[i] = i;
  for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(i);
  for (let i = k; i < row.length; i++) {
    if (after(i, heap[0]!)) continue;
    heap[0] = i;
    siftDown(0);
  }
}

/**
 * The first index of the largest of n values from `at`, NaN ranking last (compareScores' first),
 * relative to `at`.
 */
function argmax(v: Float32Array, at: number, n: number): number {
  let best = 0;
  let b = v[at]!;
  for (let i = 1; i < n; i++) {
    const x = v[at + i]!;
    // Strictly larger, or any number over a NaN: ties keep the lower index.
    if (x > b || (Number.isNaN(b) && !Number.isNaN(x))) {
      best = i;
      b = x;
    }
  }
  return best;
}
