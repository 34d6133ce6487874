import type { RopeStyle, Tensor } from '@kvsieve/core';
import type { OpEnv } from '../../env.js';

/**
 * Rotary embedding of `x [n, heads, d]` (see core's `Backend.rope`). Units: tokens; each computes
 * its `half` angles' cos and sin once (f64) into scratch and rotates every head with them.
 */
export function ropeWasm(
  env: OpEnv,
  x: Tensor,
  positions: Tensor,
  invFreq: Tensor,
  style: RopeStyle,
  dims: { n: number; heads: number; dim: number; half: number },
): Tensor {
  const { n, heads, dim, half } = dims;
  const out = env.out(x.shape, 'f32', 'rope');
  if (heads === 0 || dim === 0) return out;
  env.run(
    'kv_rope',
    [
      env.ptr(x, 'rope'),
      env.ptr(positions, 'rope'),
      env.ptr(invFreq, 'rope'),
      out.storage.ptr,
      heads,
      dim,
      half,
      style === 'interleaved' ? 1 : 0,
    ],
    n,
    16 * half,
    heads * dim,
  );
  return out;
}
