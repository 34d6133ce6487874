import type { Tensor } from '@kvsieve/core';
import { input, kernel, output, Params } from '../../gpu/program.js';
import type { OpEnv } from '../../gpu/storage.js';
import type { ElemKind } from '../../gpu/wgsl.js';
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
  ['splits', 'u32'],
  ['window', 'u32'],
] as const);

function queryTile(d4: number, workgroupBytes: number): number {
  return Math.max(1, Math.min(64, Math.floor((workgroupBytes - 1024) / (16 * d4 + 8))));
}

// As in attention.ts, rows are padded to vec4s so the dot product is a constant-trip vec4 loop.
const COLUMNS = kernel({
  name: 'windowColumns',
  params: P,
  buffers: ({ kv }: { D: number; TQ: number; kv: ElemKind }) => [
    input('q', 'f32'),
    input('k', kv),
    input('stats', 'f32'),
    output('out', 'f32'),
  ],
  body: ({ D, TQ }: { D: number; TQ: number; kv: ElemKind }) => {
    const D4 = Math.ceil(D / 4);
    return `const D: u32 = ${D}u;
const D4: u32 = ${D4}u;
const TQ: u32 = ${TQ}u;
var<workgroup> Qs: array<vec4<f32>, ${TQ * D4}>;
var<workgroup> Ms: array<f32, ${TQ}>;
var<workgroup> Ls: array<f32, ${TQ}>;
fn ld(x: f32, ok: bool) -> f32 { return select(0.0, x, ok); }
@compute @workgroup_size(${COLS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.y;
  let kvh = h / u.G;
  let j0 = wid.x * ${COLS}u;
  let j = j0 + lid;
  let isLive = j < u.L;
  var kv: array<vec4<f32>, ${D4}>;
  if (isLive) {
    let kb = (kvh * u.L + j) * D;
    for (var c = 0u; c < D4; c = c + 1u) {
      let e = 4u * c;
      kv[c] = vec4<f32>(ld(load_k(kb + e), e < D), ld(load_k(kb + e + 1u), e + 1u < D), ld(load_k(kb + e + 2u), e + 2u < D), ld(load_k(kb + e + 3u), e + 3u < D));
    }
  }
  // Window query t sits at position L − w + t; queries before the block's first key see none of it.
  let first = u.L - u.w;
  let tStart = select(0u, j0 - first, j0 > first);
  var acc = 0.0;
  for (var t0 = tStart; t0 < u.w; t0 = t0 + TQ) {
    let tn = min(TQ, u.w - t0);
    workgroupBarrier();
    for (var e4 = lid; e4 < tn * D4; e4 = e4 + ${COLS}u) {
      let qb = (h * u.w + t0 + e4 / D4) * D;
      let e = 4u * (e4 % D4);
      Qs[e4] = vec4<f32>(ld(q[qb + e], e < D), ld(q[qb + e + 1u], e + 1u < D), ld(q[qb + e + 2u], e + 2u < D), ld(q[qb + e + 3u], e + 3u < D)) * u.scale;
    }
    for (var e = lid; e < tn; e = e + ${COLS}u) {
      // Merge the key splits' partial (max, sum) pairs.
      var m = -0x1.fffffep+127f;
      for (var s = 0u; s < u.splits; s = s + 1u) {
        let o = 2u * ((s * u.H + h) * u.w + t0 + e);
        if (stats[o + 1u] > 0.0) { m = max(m, stats[o]); }
      }
      var l = 0.0;
      for (var s = 0u; s < u.splits; s = s + 1u) {
        let o = 2u * ((s * u.H + h) * u.w + t0 + e);
        if (stats[o + 1u] > 0.0) { l = l + stats[o + 1u] * exp(stats[o] - m); }
      }
      Ms[e] = m;
      Ls[e] = l;
    }
    workgroupBarrier();
    if (isLive) {
      for (var tt = 0u; tt < tn; tt = tt + 1u) {
        // Causal, and within the sliding window when there is one (keys addressed by index).
        let qi = first + t0 + tt;
        if (j <= qi && (u.window == 0u || qi - j < u.window) && Ls[tt] > 0.0) {
          var dv = vec4<f32>(0.0);
          for (var c = 0u; c < D4; c = c + 1u) { dv = dv + Qs[tt * D4 + c] * kv[c]; }
          acc = acc + exp(dv.x + dv.y + dv.z + dv.w - Ms[tt]) / Ls[tt];
        }
      }
    }
  }
  if (isLive) { out[h * u.L + j] = acc; }
}`;
  },
});

export function attentionColumnSumsGpu(
  env: OpEnv,
  q: Tensor,
  k: Tensor,
  d: { H: number; w: number; d: number; Hkv: number; L: number; G: number },
  scale: number,
  window: number,
): Tensor {
  const out = env.out([d.H, d.L], 'f32', 'attentionColumnSums');
  // About 64 keys' worth of work per split at least, and at most 32 splits.
  const chunk = Math.max(256, Math.ceil(d.L / 32 / 64) * 64);
  const split = { chunk, count: Math.ceil(d.L / chunk) };
  const stats = env.out([split.count, d.H, d.w, 2], 'f32', 'attentionColumnSums stats');
  windowStatsGpu(env, q, k, d, scale, window, stats, split);
  const batch = env.ctx.batch();
  const TQ = queryTile(Math.ceil(d.d / 4), env.ctx.device.limits.maxComputeWorkgroupStorageSize);
  const op = 'attentionColumnSums';
  const buffers = {
    q: env.bind(q, op),
    k: env.bind(k, op),
    stats: env.bind(stats, op),
    out: out.storage.binding,
  };
  batch.dispatch(
    COLUMNS({ D: d.d, TQ, kv: env.kind(k.dtype) }),
    buffers,
    { H: d.H, w: d.w, L: d.L, G: d.G, scale, splits: split.count, window },
    [Math.ceil(d.L / COLS), d.H],
  );
  batch.done();
  stats.dispose();
  return out;
}
