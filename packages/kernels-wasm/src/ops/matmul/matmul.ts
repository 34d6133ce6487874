import type { Tensor } from '@kvsieve/core';
import type { OpEnv } from '../../env.js';
import { F16, F32, FINITE } from '../../wasm/types.js';

/** Up to this many rows of `a`, a transposed matmul is a GEMV (decode): csrc/matmul.c kv_gemv_bt. */
export const GEMV_MAX_ROWS = 8;
/** Output columns per panel of the blocked kernel: its unit of work (kv_matmul). */
export const PANEL = 32;
/** Depth of one decoded chunk: a multiple of every quantized block size (32, 256). */
export const DEPTH = 256;

/**
 * `a [M, K] · b` as f32 `[M, N]`: b `[N, K]` with `transposeB` (any weight dtype), else `[K, N]`
 * (f32/f16/bf16). Small M takes the GEMV kernel (units: groups of 4 output columns), larger M
 * the blocked one (units: panels of {@link PANEL} columns).
 */
export function matmulWasm(
  env: OpEnv,
  a: Tensor,
  b: Tensor,
  dims: { M: number; K: number; N: number },
  transposeB: boolean,
): Tensor {
  const { M, K, N } = dims;
  const out = env.out([M, N], 'f32', 'matmul');
  if (M === 0 || N === 0) return out;
  const c = out.storage.ptr;
  if (K === 0) {
    env.views.f32(c, M * N).fill(0);
    return out;
  }
  const type = env.type(b, 'matmul');
  const args = [env.ptr(a, 'matmul'), env.ptr(b, 'matmul'), c, M, K, N, type];
  if (transposeB && M <= GEMV_MAX_ROWS) {
    // f16 weights without Inf/NaN (all real ones) are decoded without the fix-up for them.
    if (type === F16 && env.finiteF16(b, 'matmul')) args[6] = type | FINITE;
    // Scratch: four weight rows decoded to f32 (f32 weights are read in place).
    env.run('kv_gemv_bt', args, Math.ceil(N / 4), type === F32 ? 0 : 16 * K, 4 * K * M);
  } else {
    env.run(
      'kv_matmul',
      [...args, transposeB ? 1 : 0, PANEL, DEPTH],
      Math.ceil(N / PANEL),
      PANEL * DEPTH * 4,
      PANEL * K * M,
    );
  }
  return out;
}
