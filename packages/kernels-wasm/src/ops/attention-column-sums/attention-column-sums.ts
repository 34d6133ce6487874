import type { Tensor } from '@kvsieve/core';
import type { OpEnv } from '../../env.js';
import { KEY_BLOCK } from '../attention/attention.js';

/** Scores held at once per unit of work (floats): bounds the window queries taken together. */
const SCORE_FLOATS = 1 << 18;

/**
 * Observation-window column sums (see core's `Backend.attentionColumnSums`): units are query
 * heads, each writing its row of `[H, L]`; the w queries are taken in chunks whose scores over
 * the sequence fit {@link SCORE_FLOATS}, so each block of keys is read once per chunk.
 */
export function attentionColumnSumsWasm(
  env: OpEnv,
  q: Tensor,
  k: Tensor,
  dims: { H: number; w: number; d: number; Hkv: number; L: number },
  scale: number,
  window: number,
): Tensor {
  const { H, w, d, Hkv, L } = dims;
  const op = 'attentionColumnSums';
  const out = env.out([H, L], 'f32', op);
  const tc = Math.max(1, Math.min(w, Math.floor(SCORE_FLOATS / L)));
  env.run(
    'kv_attention_column_sums',
    [env.ptr(q, op), env.ptr(k, op), env.type(k, op), out.storage.ptr, H, w, Hkv, L, d, scale, window, tc],
    H,
    4 * (tc * L + KEY_BLOCK * d),
    w * L * d,
  );
  return out;
}
