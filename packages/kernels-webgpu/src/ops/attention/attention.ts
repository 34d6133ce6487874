import { DTypeError, type RaggedKV, type Tensor } from '@kvsieve/core';
import type { Binding } from '../../gpu/context.js';
import { input, kernel, output, Params, type UniformsOf } from '../../gpu/program.js';
import type { OpEnv } from '../../gpu/storage.js';
import { BUILTINS, type ElemKind, WG_INDEX } from '../../gpu/wgsl.js';

// Flash-style attention: a workgroup owns one KV head and a block of ROWS (query, group-member)
// pairs, so the G query heads that share a KV head read each staged K/V tile once (GQA without
// repeating K/V). Keys stream through workgroup memory in tiles of TK; each thread keeps its query,
// an f32 accumulator and an online-softmax max/sum. `mode` picks how keys are addressed and masked:
//   ragged: head kvh owns rows off[kvh] .. off[kvh] + len[kvh], key r is visible when
//           positions[r] <= qPositions[i];
//   stats:  attentionColumnSums' first pass: q [H, w, d], k [Hkv, L, d], causal inside the window; writes
//           each query's softmax max and denominator instead of an output.
// A sliding window (u.window > 0) hides keys more than window − 1 positions before the query. Keys
// and values are read through their loaders, so an f16 cache is read as it is stored.
export type AttentionMode = 'ragged' | 'stats';

const MAX_ROWS = 64;

/** Keys per staged tile: the K and V tiles fit the device's workgroup memory (with room to spare). */
export function keyTile(d: number, workgroupBytes: number): number {
  return Math.max(1, Math.min(64, Math.floor((workgroupBytes - 256) / (8 * d))));
}

const P = new Params([
  ['n', 'u32'],
  ['m', 'u32'],
  ['H', 'u32'],
  ['Hkv', 'u32'],
  ['G', 'u32'],
  ['scale', 'f32'],
  ['rows', 'u32'],
  ['chunk', 'u32'],
  ['splits', 'u32'],
  ['window', 'u32'],
] as const);

// Key splits (grid z): split z takes keys [z·chunk, (z + 1)·chunk) of the visible range, the last
// split everything after. One split (chunk = ∞) is the plain kernel.
const SPLIT = `let start = first + min(wid.z * u.chunk, total);
  let rest = total - min(wid.z * u.chunk, total);
  let count = select(min(u.chunk, rest), rest, wid.z + 1u == u.splits);`;

type Variant = { mode: AttentionMode; D: number; TK: number; ROWS: number; split: boolean; kv: ElemKind };

const ATTENTION = kernel({
  name: 'attention',
  params: P,
  buffers: ({ mode, split, kv }: Variant) =>
    mode === 'ragged'
      ? [
          input('q', 'f32'),
          input('k', kv),
          input('v', kv),
          input('kpos', 'i32'),
          input('off', 'i32'),
          input('len', 'i32'),
          input('qpos', 'i32'),
          // Split-key partial results: [splits, n, H, D + 2] (accumulator, max, denominator).
          output(split ? 'parts' : 'out', 'f32'),
        ]
      : [input('q', 'f32'), input('k', kv), output('stats', 'f32')],
  body: (v: Variant) => body(v),
});

function body({ mode, D, TK, ROWS, split }: Variant): string {
  const D4 = Math.ceil(D / 4);
  const withV = mode !== 'stats';
  // Per mode: query offset, key-range setup, key row offset, visibility.
  const qBase = mode === 'stats' ? '(h * u.n + i) * D' : '(i * u.H + h) * D';
  const range =
    mode === 'ragged'
      ? `if (lid == 0u) {
    let o = max(off[kvh], 0);
    wg_start = u32(o);
    wg_count = u32(clamp(len[kvh], 0, max(0, i32(u.rows) - o)));
  }
  let first = workgroupUniformLoad(&wg_start);
  let total = workgroupUniformLoad(&wg_count);
  ${SPLIT}`
      : `let lastRow = min((blk + 1u) * ${ROWS}u, u.n * u.G) - 1u;
  let first = 0u;
  let total = u.m - u.n + lastRow / u.G + 1u;
  ${SPLIT}`;
  const keyOff = mode === 'stats' ? '(kvh * u.m + j) * D' : 'j * D';
  const visible =
    mode === 'ragged'
      ? 'kpos[j] <= qpos[i] && (u.window == 0u || qpos[i] - kpos[j] < i32(u.window))'
      : 'j <= u.m - u.n + i && (u.window == 0u || u.m - u.n + i - j < u.window)';
  const finish = split
    ? `if (isLive) {
    let o = ((wid.z * u.n + i) * u.H + h) * (D + 2u);
    for (var c = 0u; c < D; c = c + 1u) { parts[o + c] = acc[c / 4u][c % 4u]; }
    parts[o + D] = m;
    parts[o + D + 1u] = l;
  }`
    : withV
      ? `if (isLive) {
    let inv = select(0.0, 1.0 / l, l > 0.0);
    for (var c = 0u; c < D; c = c + 1u) { out[${qBase} + c] = acc[c / 4u][c % 4u] * inv; }
  }`
      : `if (isLive) {
    let o = 2u * ((wid.z * u.H + h) * u.n + i);
    stats[o] = m;
    stats[o + 1u] = l;
  }`;
  // Rows are padded to D4 vec4s with zeros, so the dot product and the accumulation are vec4 loops
  // with a constant trip count (unrolled by the compiler: llvmpipe keeps them out of scratch memory).
  return `const D: u32 = ${D}u;
const D4: u32 = ${D4}u;
const TK: u32 = ${TK}u;
var<workgroup> Ks: array<vec4<f32>, ${TK * D4}>;
${withV ? `var<workgroup> Vs: array<vec4<f32>, ${TK * D4}>;` : ''}
var<workgroup> wg_start: u32;
var<workgroup> wg_count: u32;
fn ld(x: f32, ok: bool) -> f32 { return select(0.0, x, ok); }
@compute @workgroup_size(${ROWS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let kvh = wid.y;
  let blk = wid.x;
  let r = blk * ${ROWS}u + lid;
  let isLive = r < u.n * u.G;
  let i = select(0u, r / u.G, isLive);
  let h = kvh * u.G + r % u.G;
  var qv: array<vec4<f32>, ${D4}>;
  var acc: array<vec4<f32>, ${D4}>;
  var m = -0x1.fffffep+127f;
  var l = 0.0;
  if (isLive) {
    let qb = ${qBase};
    for (var c = 0u; c < D4; c = c + 1u) {
      let e = 4u * c;
      qv[c] = vec4<f32>(ld(q[qb + e], e < D), ld(q[qb + e + 1u], e + 1u < D), ld(q[qb + e + 2u], e + 2u < D), ld(q[qb + e + 3u], e + 3u < D)) * u.scale;
    }
  }
  ${range}
  for (var t0 = 0u; t0 < count; t0 = t0 + TK) {
    let tn = min(TK, count - t0);
    workgroupBarrier();
    for (var e4 = lid; e4 < tn * D4; e4 = e4 + ${ROWS}u) {
      let j = start + t0 + e4 / D4;
      let kb = ${keyOff};
      let e = 4u * (e4 % D4);
      Ks[e4] = vec4<f32>(ld(load_k(kb + e), e < D), ld(load_k(kb + e + 1u), e + 1u < D), ld(load_k(kb + e + 2u), e + 2u < D), ld(load_k(kb + e + 3u), e + 3u < D));
      ${withV ? 'Vs[e4] = vec4<f32>(ld(load_v(kb + e), e < D), ld(load_v(kb + e + 1u), e + 1u < D), ld(load_v(kb + e + 2u), e + 2u < D), ld(load_v(kb + e + 3u), e + 3u < D));' : ''}
    }
    workgroupBarrier();
    if (isLive) {
      for (var jj = 0u; jj < tn; jj = jj + 1u) {
        let j = start + t0 + jj;
        if (${visible}) {
          var dv = vec4<f32>(0.0);
          for (var c = 0u; c < D4; c = c + 1u) { dv = dv + qv[c] * Ks[jj * D4 + c]; }
          let sc = dv.x + dv.y + dv.z + dv.w;
          if (sc > m) {
            // A new maximum: rescale what was accumulated (rare after the first keys).
            let corr = exp(m - sc);
            l = l * corr;
            ${withV ? 'for (var c = 0u; c < D4; c = c + 1u) { acc[c] = acc[c] * corr; }' : ''}
            m = sc;
          }
          let p = exp(sc - m);
          l = l + p;
          ${withV ? 'for (var c = 0u; c < D4; c = c + 1u) { acc[c] = acc[c] + p * Vs[jj * D4 + c]; }' : ''}
        }
      }
    }
  }
  ${finish}
}`;
}

type Uniforms = Omit<UniformsOf<typeof P>, 'splits'>;

function dispatch(
  env: OpEnv,
  mode: AttentionMode,
  kv: ElemKind,
  D: number,
  inputs: Readonly<Record<string, Binding>>,
  p: Uniforms,
  rowsPerHead: number,
  Hkv: number,
  out: { name: 'out' | 'stats'; binding: Binding },
  splits = 1,
) {
  const batch = env.ctx.batch();
  const TK = keyTile(4 * Math.ceil(D / 4), env.ctx.device.limits.maxComputeWorkgroupStorageSize);
  // Decode has only G rows per KV head: a small workgroup leaves fewer idle invocations.
  const ROWS = rowsPerHead <= 8 ? 8 : MAX_ROWS;
  const grid = [Math.ceil(rowsPerHead / ROWS), Hkv, splits] as const;
  if (mode === 'stats' || splits === 1) {
    const prog = ATTENTION({ mode, D, TK, ROWS, split: false, kv });
    batch.dispatch(prog, { ...inputs, [out.name]: out.binding }, { ...p, splits }, grid);
  } else {
    // Flash-decoding: splits write unnormalized partial results, a second kernel merges them.
    const parts = batch.scratch(splits * p.n * p.H * (D + 2) * 4);
    batch.dispatch(
      ATTENTION({ mode, D, TK, ROWS, split: true, kv }),
      { ...inputs, parts },
      { ...p, splits },
      grid,
    );
    batch.dispatch(
      MERGE({}),
      { parts, out: out.binding },
      { n: p.n, H: p.H, D, splits },
      batch.grid(Math.ceil((p.n * p.H * D) / 256)),
    );
  }
  batch.done();
}

/** Key splits for decode-shaped calls (≤ 8 rows per KV head) over many keys; 1 otherwise. */
function decodeSplits(rowsPerHead: number, keysPerHead: number): { splits: number; chunk: number } {
  if (rowsPerHead > 8 || keysPerHead < 1024) return { splits: 1, chunk: 0xffffffff };
  const splits = Math.min(32, Math.ceil(keysPerHead / 512));
  return { splits, chunk: Math.ceil(keysPerHead / splits) };
}

const MP = new Params([
  ['n', 'u32'],
  ['H', 'u32'],
  ['D', 'u32'],
  ['splits', 'u32'],
] as const);

const MERGE = kernel({
  name: 'attention:merge',
  params: MP,
  buffers: () => [input('parts', 'f32'), output('out', 'f32')],
  body: () => `@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  ${WG_INDEX}
  let e = wg * 256u + lid;
  if (e >= u.n * u.H * u.D) { return; }
  let row = e / u.D;
  let c = e % u.D;
  let stride = u.n * u.H * (u.D + 2u);
  var m = -0x1.fffffep+127f;
  for (var s = 0u; s < u.splits; s = s + 1u) {
    let o = s * stride + row * (u.D + 2u);
    if (parts[o + u.D + 1u] > 0.0) { m = max(m, parts[o + u.D]); }
  }
  var l = 0.0;
  var acc = 0.0;
  for (var s = 0u; s < u.splits; s = s + 1u) {
    let o = s * stride + row * (u.D + 2u);
    let ls = parts[o + u.D + 1u];
    if (ls > 0.0) {
      let w = exp(parts[o + u.D] - m);
      l = l + ls * w;
      acc = acc + parts[o + c] * w;
    }
  }
  out[e] = select(0.0, acc / l, l > 0.0);
}`,
});

export function raggedAttentionGpu(
  env: OpEnv,
  q: Tensor,
  kv: RaggedKV,
  qPositions: Tensor,
  d: { n: number; H: number; d: number; rows: number; Hkv: number; G: number },
  scale: number,
  window: number,
): Tensor {
  const out = env.out(q.shape, 'f32', 'raggedAttention');
  // Per-head lengths live on the device; the mean sizes the splits and the last split takes the rest.
  const split = decodeSplits(d.n * d.G, Math.ceil(d.rows / d.Hkv));
  const p = { n: d.n, m: 0, H: d.H, Hkv: d.Hkv, G: d.G, scale, rows: d.rows, chunk: split.chunk, window };
  const op = 'raggedAttention';
  const inputs = {
    q: env.bind(q, op),
    k: env.bind(kv.keys, op),
    v: env.bind(kv.values, op),
    kpos: env.bind(kv.positions, op),
    off: env.bind(kv.offsets, op),
    len: env.bind(kv.lengths, op),
    qpos: env.bind(qPositions, op),
  };
  const target = { name: 'out', binding: env.bind(out, op) } as const;
  dispatch(
    env,
    'ragged',
    kvKind(env, kv.keys, kv.values),
    d.d,
    inputs,
    p,
    d.n * d.G,
    d.Hkv,
    target,
    split.splits,
  );
  return out;
}

/**
 * attentionColumnSums' first pass: softmax max and denominator per (key split, head, window query),
 * `[splits, H, w, 2]`. Splitting the keys gives the pass enough workgroups to fill a device
 * (H·w rows alone make only a handful); the second pass merges the splits.
 */
export function windowStatsGpu(
  env: OpEnv,
  q: Tensor,
  k: Tensor,
  d: { H: number; w: number; d: number; Hkv: number; L: number; G: number },
  scale: number,
  window: number,
  stats: Tensor,
  split: { count: number; chunk: number },
): void {
  const p = { n: d.w, m: d.L, H: d.H, Hkv: d.Hkv, G: d.G, scale, rows: 0, chunk: split.chunk, window };
  const op = 'attentionColumnSums';
  const inputs = { q: env.bind(q, op), k: env.bind(k, op) };
  const target = { name: 'stats', binding: env.bind(stats, op) } as const;
  dispatch(env, 'stats', env.kind(k.dtype), d.d, inputs, p, d.w * d.G, d.Hkv, target, split.count);
}

/** How keys and values are read: one element kind for both (the cache stores them alike). */
export function kvKind(env: OpEnv, keys: Tensor, values: Tensor): ElemKind {
  if (keys.dtype !== values.dtype) {
    throw new DTypeError(
      `attention: keys are ${keys.dtype} but values are ${values.dtype}; store them alike`,
    );
  }
  return env.kind(keys.dtype);
}
