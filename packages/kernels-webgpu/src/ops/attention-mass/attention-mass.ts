import type { RaggedKV, Tensor } from '@kvsieve/core';
import { input, kernel, output, Params } from '../../gpu/program.js';
import type { OpEnv } from '../../gpu/storage.js';
import { BUILTINS, type ElemKind, WG_INDEX } from '../../gpu/wgsl.js';

// Two passes, no float atomics (WGSL has none). The first gives each (query, head) a workgroup that
// finds the softmax max and denominator over the visible rows of its KV head's segment. The second
// gives each cache row a thread that adds up exp(s − max) / sum over the queries and the query
// heads reading its KV head, recomputing the dot products instead of storing an [n, H, rows] matrix.
// Decode hands one query, so both passes are small next to the attention itself.

const WG = 64;
const P = new Params([
  ['n', 'u32'],
  ['H', 'u32'],
  ['G', 'u32'],
  ['Hkv', 'u32'],
  ['rows', 'u32'],
  ['scale', 'f32'],
  ['window', 'u32'],
] as const);

type Variant = { D: number; kv: ElemKind };

const inputs = (kv: ElemKind) =>
  [
    input('q', 'f32'),
    input('k', kv),
    input('pos', 'i32'),
    input('offsets', 'i32'),
    input('lengths', 'i32'),
    input('qpos', 'i32'),
  ] as const;

// Keys are read through their loader (an f16 cache as stored); a sliding window hides old keys.
function dotFn(D: number): string {
  return `fn logit(qb: u32, r: u32) -> f32 {
  var s = 0.0;
  for (var c = 0u; c < ${D}u; c = c + 1u) { s = s + q[qb + c] * load_k(r * ${D}u + c); }
  return s * u.scale;
}
fn seen(p: i32, qp: i32) -> bool { return p <= qp && (u.window == 0u || qp - p < i32(u.window)); }
`;
}

const STATS = kernel({
  name: 'attentionMassStats',
  params: P,
  buffers: ({ kv }: Variant) => [...inputs(kv), output('stats', 'f32')],
  body: ({ D }: Variant) => `var<workgroup> red: array<f32, ${WG}>;
${dotFn(D)}
@compute @workgroup_size(${WG})
fn main(${BUILTINS}) {
  ${WG_INDEX}
  // One workgroup per (query i, head h); wg is uniform, so the barriers below stay in uniform control flow.
  let live = wg < u.n * u.H;
  let ih = min(wg, u.n * u.H - 1u);
  let i = ih / u.H;
  let g = (ih % u.H) / u.G;
  let o = u32(offsets[g]);
  let end = o + u32(lengths[g]);
  let qp = qpos[i];
  let qb = ih * ${D}u;
  var m = -0x1.fffffep+127f;
  for (var r = o + lid; r < end; r = r + ${WG}u) {
    if (seen(pos[r], qp)) { m = max(m, logit(qb, r)); }
  }
  red[lid] = m;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let M = red[0];
  workgroupBarrier();
  var l = 0.0;
  for (var r = o + lid; r < end; r = r + ${WG}u) {
    if (seen(pos[r], qp)) { l = l + exp(logit(qb, r) - M); }
  }
  red[lid] = l;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  if (live && lid == 0u) {
    stats[2u * ih] = M;
    stats[2u * ih + 1u] = red[0];
  }
}`,
});

const ROWS = kernel({
  name: 'attentionMassRows',
  params: P,
  buffers: ({ kv }: Variant) => [...inputs(kv), input('stats', 'f32'), output('out', 'f32')],
  body: ({ D }: Variant) => `${dotFn(D)}
@compute @workgroup_size(${WG})
fn main(${BUILTINS}) {
  ${WG_INDEX}
  let r = wg * ${WG}u + lid;
  if (r >= u.rows) { return; }
  var g = u.Hkv;
  for (var h = 0u; h < u.Hkv; h = h + 1u) {
    let o = offsets[h];
    if (i32(r) >= o && i32(r) < o + lengths[h]) { g = h; }
  }
  var acc = 0.0;
  if (g < u.Hkv) {
    let p = pos[r];
    for (var i = 0u; i < u.n; i = i + 1u) {
      if (!seen(p, qpos[i])) { continue; }
      for (var hh = g * u.G; hh < (g + 1u) * u.G; hh = hh + 1u) {
        let ih = i * u.H + hh;
        let l = stats[2u * ih + 1u];
        if (l > 0.0) { acc = acc + exp(logit(ih * ${D}u, r) - stats[2u * ih]) / l; }
      }
    }
  }
  out[r] = acc;
}`,
});

export function attentionMassGpu(
  env: OpEnv,
  q: Tensor,
  kv: RaggedKV,
  qPositions: Tensor,
  d: { n: number; H: number; d: number; G: number; rows: number; Hkv: number },
  scale: number,
  window: number,
): Tensor {
  const out = env.out([d.rows], 'f32', 'attentionMass');
  const stats = env.out([d.n * d.H, 2], 'f32', 'attentionMass stats');
  const op = 'attentionMass';
  const inputs = {
    q: env.bind(q, op),
    k: env.bind(kv.keys, op),
    pos: env.bind(kv.positions, op),
    offsets: env.bind(kv.offsets, op),
    lengths: env.bind(kv.lengths, op),
    qpos: env.bind(qPositions, op),
  };
  const params = { n: d.n, H: d.H, G: d.G, Hkv: d.Hkv, rows: d.rows, scale, window };
  const batch = env.ctx.batch();
  const v = { D: d.d, kv: env.kind(kv.keys.dtype) };
  batch.dispatch(STATS(v), { ...inputs, stats: stats.storage.binding }, params, batch.grid(d.n * d.H));
  batch.dispatch(
    ROWS(v),
    { ...inputs, stats: env.bind(stats, op), out: out.storage.binding },
    params,
    batch.grid(Math.ceil(d.rows / WG)),
  );
  batch.done();
  stats.dispose();
  return out;
}
