import type { Tensor } from '@kvsieve/core';
import type { OpEnv } from '../../env.js';

/** RMS norm over the last dimension of `x [rows, D]`, times `weight [D]` (f32/f16/bf16). Units: rows. */
export function rmsnormWasm(
  env: OpEnv,
  x: Tensor,
  weight: Tensor,
  eps: number,
  dims: { rows: number; D: number },
): Tensor {
  const out = env.out(x.shape, 'f32', 'rmsnorm');
  if (dims.D === 0) return out;
  env.run(
    'kv_rmsnorm',
    [
      env.ptr(x, 'rmsnorm'),
      env.ptr(weight, 'rmsnorm'),
      env.type(weight, 'rmsnorm'),
      out.storage.ptr,
      dims.D,
      eps,
    ],
    dims.rows,
    0,
    dims.D,
  );
  return out;
}
