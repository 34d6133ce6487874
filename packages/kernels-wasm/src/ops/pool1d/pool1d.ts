import type { PoolMode, Tensor } from '@kvsieve/core';
import type { OpEnv } from '../../env.js';

/**
 * Stride-1 pooling of each row of `x [R, n]` with padding kernel//2: average divides by the whole
 * kernel (padding counts), max ignores padding. The CPU reference's loops, so results are identical.
 */
export function pool1dWasm(
  env: OpEnv,
  x: Tensor,
  R: number,
  n: number,
  kernel: number,
  mode: PoolMode,
): Tensor {
  const out = env.out(x.shape, 'f32', 'pool1d');
  const v = env.views.f32(env.ptr(x, 'pool1d'), R * n);
  const o = env.views.f32(out.storage.ptr, R * n);
  const pad = Math.floor(kernel / 2);
  for (let r = 0; r < R; r++) {
    for (let i = 0; i < n; i++) {
      const lo = Math.max(0, i - pad);
      const hi = Math.min(n - 1, i + pad);
      let acc = mode === 'max' ? Number.NEGATIVE_INFINITY : 0;
      for (let j = lo; j <= hi; j++) {
        const e = v[r * n + j]!;
        acc = mode === 'max' ? Math.max(acc, e) : acc + e;
      }
      o[r * n + i] = mode === 'max' ? acc : acc / kernel;
    }
  }
  return out;
}
