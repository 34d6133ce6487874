import { validate as check, type RaggedKV, type Tensor } from '@kvsieve/core';
import type { OpEnv } from '../../env.js';
import { KEY_BLOCK } from '../attention/attention.js';

/** Scores held at once per unit of work (floats): bounds the (query, head) pairs taken together. */
const SCORE_FLOATS = 1 << 18;

/**
 * Attention mass per cache row (see core's `Backend.attentionMass`). Units are KV heads, each
 * adding to the rows of its own segment; the output starts at zero (rows outside every segment
 * stay 0). Every (query, head) pair's scores over the head are held at once, in chunks of pairs.
 */
export function attentionMassWasm(
  env: OpEnv,
  q: Tensor,
  kv: RaggedKV,
  qPositions: Tensor,
  dims: { n: number; H: number; d: number; rows: number; Hkv: number; G: number },
  scale: number,
  window: number,
): Tensor {
  const { n, H, d, rows, Hkv, G } = dims;
  const op = 'attentionMass';
  const off = env.ptr(kv.offsets, op);
  const len = env.ptr(kv.lengths, op);
  const lengths = env.views.i32(len, Hkv);
  check.checkRaggedSegments(op, env.views.i32(off, Hkv), lengths, rows);
  // Read before allocating: growing the memory may detach views taken earlier.
  const maxLen = Math.max(0, ...lengths);
  const disjoint = segmentsDisjoint(env.views.i32(off, Hkv), lengths);
  const out = env.out([rows], 'f32', op);
  env.views.f32(out.storage.ptr, rows).fill(0);
  if (n === 0 || maxLen === 0) return out;
  const qc = Math.max(1, Math.min(n * G, Math.floor(SCORE_FLOATS / maxLen)));
  env.run(
    'kv_attention_mass',
    [
      env.ptr(q, op),
      env.ptr(kv.keys, op),
      env.type(kv.keys, op),
      env.ptr(kv.positions, op),
      off,
      len,
      env.ptr(qPositions, op),
      out.storage.ptr,
      n,
      H,
      Hkv,
      d,
      scale,
      window,
      qc,
      maxLen,
    ],
    Hkv,
    4 * (qc * maxLen + KEY_BLOCK * d),
    // Heads add into their segments' rows: overlapping segments must not be split over threads.
    disjoint ? n * G * d * maxLen : 0,
  );
  return out;
}

/** Whether no cache row lies in two heads' segments (then heads can run on different threads). */
function segmentsDisjoint(offsets: Int32Array, lengths: Int32Array): boolean {
  const spans = Array.from(offsets, (o, h) => [o, o + lengths[h]!] as const)
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  return spans.every((s, i) => i === 0 || s[0] >= spans[i - 1]![1]);
}
