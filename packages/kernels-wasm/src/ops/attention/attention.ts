import { validate as check, type RaggedKV, type Tensor } from '@kvsieve/core';
import type { OpEnv } from '../../env.js';

/** Key rows per block of the online softmax (csrc/attention.c KB). */
export const KEY_BLOCK = 32;

/**
 * Ragged attention (see core's `Backend.raggedAttention`): units are (query, KV head) pairs, each
 * computing that KV head's G query heads together over its segment. Segments are checked to lie
 * inside the cache first: every index tensor is readable here.
 */
export function raggedAttentionWasm(
  env: OpEnv,
  q: Tensor,
  kv: RaggedKV,
  qPositions: Tensor,
  dims: { n: number; H: number; d: number; rows: number; Hkv: number; G: number },
  scale: number,
  window: number,
): Tensor {
  const { n, H, d, rows, Hkv, G } = dims;
  const op = 'raggedAttention';
  const off = env.ptr(kv.offsets, op);
  const len = env.ptr(kv.lengths, op);
  check.checkRaggedSegments(op, env.views.i32(off, Hkv), env.views.i32(len, Hkv), rows);
  const out = env.out([n, H, d], 'f32', op);
  const scratchFloats = G * d + G * KEY_BLOCK + 2 * KEY_BLOCK * d + 2 * G;
  env.run(
    'kv_ragged_attention',
    [
      env.ptr(q, op),
      env.ptr(kv.keys, op),
      env.ptr(kv.values, op),
      env.type(kv.keys, op),
      env.ptr(kv.positions, op),
      off,
      len,
      env.ptr(qPositions, op),
      out.storage.ptr,
      H,
      Hkv,
      d,
      scale,
      window,
    ],
    n * Hkv,
    4 * scratchFloats,
    // A unit reads its head's segment (rows / Hkv on average) once for G query heads.
    2 * G * d * Math.max(1, rows / Hkv),
  );
  return out;
}
