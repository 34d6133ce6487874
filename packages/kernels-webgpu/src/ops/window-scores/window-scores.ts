import type { Tensor } from '@kvsieve/core';
import { Params } from '../../gpu/context.js';
import type { OpEnv } from '../../gpu/storage.js';
import { windowStatsGpu } from '../attention/attention.js';

// Two passes. The first (attention.ts, 'stats' mode) finds each window query's softmax max and
// denominator over all visible keys. The second gives each thread one key column: it walks the w
// queries of its head (staged through workgroup memory with their stats) and sums their
// probabilities in f32. Dot products are recomputed instead of storing the [H, w, L] matrix.

const COLS = 64;
const P = new Params([
  ['H', 'u32'],
  ['w', 'u32'],
  ['L', 'u32'],
  ['G', 'u32'],
  ['scale', 'f32'],
] as const);

function queryTile(d: number, workgroupBytes: number): number {
  return Math.max(1, Math.min(64, Math.floor((workgroupBytes - 1024) / (4 * d + 8))));
}

function source(D: number, TQ: number) {
  return {
    key: `windowColumns:${D}:${TQ}`,
    code: () => `${P.decl(4)}
@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
const D: u32 = ${D}u;
const TQ: u32 = ${TQ}u;
var<workgroup> Qs: array<f32, ${TQ * D}>;
var<workgroup> Ms: array<f32, ${TQ}>;
var<workgroup> Ls: array<f32, ${TQ}>;
@compute @workgroup_size(${COLS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.y;
  let kvh = h / u.G;
  let j0 = wid.x * ${COLS}u;
  let j = j0 + lid;
  let isLive = j < u.L;
  var kv: array<f32, ${D}>;
  if (isLive) { for (var c = 0u; c < D; c = c + 1u) { kv[c] = k[(kvh * u.L + j) * D + c]; } }
  // Window query t sits at position L − w + t; queries before the block's first key see none of it.
  let first = u.L - u.w;
  let tStart = select(0u, j0 - first, j0 > first);
  var acc = 0.0;
  for (var t0 = tStart; t0 < u.w; t0 = t0 + TQ) {
    let tn = min(TQ, u.w - t0);
    workgroupBarrier();
    for (var e = lid; e < tn * D; e = e + ${COLS}u) { Qs[e] = q[(h * u.w + t0) * D + e] * u.scale; }
    for (var e = lid; e < tn; e = e + ${COLS}u) {
      Ms[e] = stats[2u * (h * u.w + t0 + e)];
      Ls[e] = stats[2u * (h * u.w + t0 + e) + 1u];
    }
    workgroupBarrier();
    if (isLive) {
      for (var tt = 0u; tt < tn; tt = tt + 1u) {
        if (j <= first + t0 + tt && Ls[tt] > 0.0) {
          var dot = 0.0;
          for (var c = 0u; c < D; c = c + 1u) { dot = dot + Qs[tt * D + c] * kv[c]; }
          acc = acc + exp(dot - Ms[tt]) / Ls[tt];
        }
      }
    }
  }
  if (isLive) { out[h * u.L + j] = acc; }
}`,
  };
}

export function windowScoresGpu(
  env: OpEnv,
  q: Tensor,
  k: Tensor,
  d: { H: number; w: number; d: number; Hkv: number; L: number; G: number },
  scale: number,
): Tensor {
  const out = env.out([d.H, d.L], 'f32', 'windowScores');
  const stats = env.out([d.H, d.w, 2], 'f32', 'windowScores stats');
  windowStatsGpu(env, q, k, d, scale, stats);
  const batch = env.ctx.batch();
  const TQ = queryTile(d.d, env.ctx.device.limits.maxComputeWorkgroupStorageSize);
  const bindings = [env.bind(q, 'windowScores'), env.bind(k, 'windowScores'), env.bind(stats, 'windowScores'), out.storage.binding];
  batch.dispatch(source(d.d, TQ), bindings, P.pack({ H: d.H, w: d.w, L: d.L, G: d.G, scale }), [Math.ceil(d.L / COLS), d.H]);
  batch.submit();
  stats.dispose();
  return out;
}
