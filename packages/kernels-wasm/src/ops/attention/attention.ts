import { validate as check, type RaggedKV, type Tensor } from '@kvsieve/core';
import type { OpEnv } from '../../env.js';

/** Key rows per block of the online softmax (csrc/attention.c KB). */
export const KEY_BLOCK = 32;

/**
 * Keys per chunk when a decode step's attention is split over keys (a multiple of KEY_BLOCK):
 * long enough that a chunk's merge costs little, short enough to give threads work at a few
 * thousand keys.
 */
export const CHUNK_KEYS = 1024;
/** Below this many (query, KV head) pairs, long segments are split over keys. */
const SPLIT_BELOW_PAIRS = 16;

/**
 * Ragged attention (see core's `Backend.raggedAttention`): units are (query, KV head) pairs, each
 * computing that KV head's G query heads together over its segment. Segments are checked to lie
 * inside the cache first: every index tensor is readable here. A decode step has few pairs (one
 * per KV head), too few to share among threads, so when segments are long each pair's keys are
 * split into chunks of {@link CHUNK_KEYS} (units: pair × chunk), whose softmax states a second
 * kernel merges. The split depends only on the shapes, never on the thread count, so results are
 * the same on any number of threads.
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
  // Read before allocating: growing the memory may detach views taken earlier.
  const maxLen = Math.max(0, ...env.views.i32(len, Hkv));
  const out = env.out([n, H, d], 'f32', op);
  const args = [
    env.ptr(q, op),
    env.ptr(kv.keys, op),
    env.ptr(kv.values, op),
    env.type(kv.keys, op),
    env.ptr(kv.positions, op),
    off,
    len,
    env.ptr(qPositions, op),
  ];
  const pairs = n * Hkv;
  const chunks = pairs < SPLIT_BELOW_PAIRS ? Math.ceil(maxLen / CHUNK_KEYS) : 1;
  const work = 4 * (G * KEY_BLOCK + 2 * KEY_BLOCK * d);
  if (chunks <= 1) {
    // A unit reads its head's segment (rows / Hkv on average) once for G query heads.
    env.run(
      'kv_ragged_attention',
      [...args, out.storage.ptr, H, Hkv, d, scale, window],
      pairs,
      4 * G * (d + 2) + work,
      2 * G * d * Math.max(1, rows / Hkv),
    );
    return out;
  }
  const state = pairs * chunks * G * (d + 2) * 4;
  const part = env.alloc(state, 'raggedAttention chunk states');
  try {
    env.run(
      'kv_ragged_attention_part',
      [...args, part, H, Hkv, d, scale, window, chunks, CHUNK_KEYS],
      pairs * chunks,
      work,
      2 * G * d * CHUNK_KEYS,
    );
    env.run('kv_attention_merge', [part, out.storage.ptr, H, Hkv, d, chunks], pairs, 0, G * d * chunks);
  } finally {
    env.free(part);
  }
  return out;
}
