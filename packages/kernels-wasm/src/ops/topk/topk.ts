import { compareScores, type Tensor } from '@kvsieve/core';
import type { OpEnv } from '../../env.js';

/**
 * Indices i32 `[R, k]` of each row's k largest values in core's score order (larger first, NaN
 * last, ties to the lower index: `compareScores`), by sorting each row's indices as the CPU does.
 */
export function topkWasm(env: OpEnv, x: Tensor, R: number, n: number, k: number): Tensor {
  const out = env.out([R, k], 'i32', 'topk');
  const v = env.views.f32(env.ptr(x, 'topk'), R * n);
  const o = env.views.i32(out.storage.ptr, R * k);
  // Each row is copied out once: the comparator then reads a plain array, not the shared memory.
  const row = new Float32Array(n);
  const order = new Int32Array(n);
  for (let r = 0; r < R; r++) {
    row.set(v.subarray(r * n, (r + 1) * n));
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => compareScores(row, a, b));
    o.set(order.subarray(0, k), r * k);
  }
  return out;
}
