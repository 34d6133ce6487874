import { input, kernel, output } from '../../gpu/program.js';
import { COMMON, P } from './sort.js';

// When k is much smaller than the row, sorting the whole row is wasted work. A selection finds,
// per row, the key T of the k-th best element by deciding its 32 bits from the top, each with one
// counting pass ("how many keys are ≥ candidate?", a workgroup sum; no atomics, which llvmpipe
// serializes); a compaction then writes the elements above T plus the lowest-indexed ties, exactly
// k pairs, which are then sorted. One workgroup per row; rows are independent.

export const SELECT = kernel({
  name: 'topk:select',
  params: P,
  buffers: () => [input('x', 'f32'), output('sel', 'u32')],
  body: () => `${COMMON}
var<workgroup> red: array<u32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.y;
  var prefix = 0u;
  for (var bit = 0u; bit < 32u; bit = bit + 1u) {
    let cand = prefix | (0x80000000u >> bit);
    var c = 0u;
    for (var i = lid; i < u.n; i = i + 256u) { c = c + select(0u, 1u, sort_key(x[r * u.n + i]) >= cand); }
    red[lid] = c;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
      if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
      workgroupBarrier();
    }
    // Every invocation reads the same total, so all keep the same prefix.
    if (red[0] >= u.topk) { prefix = cand; }
    workgroupBarrier();
  }
  if (lid == 0u) { sel[r] = prefix; }
}`,
});

export const COMPACT = kernel({
  name: 'topk:compact',
  params: P,
  buffers: () => [input('x', 'f32'), input('sel', 'u32'), output('keys', 'u32'), output('ids', 'u32')],
  body: () => `${COMMON}
var<workgroup> aboveAt: array<u32, 256>;
var<workgroup> tieAt: array<u32, 256>;
var<workgroup> aboveTotal: u32;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.y;
  let T = sel[r];
  // Contiguous chunks per thread keep the ties in index order across threads.
  let chunk = (u.n + 255u) / 256u;
  let lo = min(lid * chunk, u.n);
  let hi = min(lo + chunk, u.n);
  var na = 0u;
  var nt = 0u;
  for (var i = lo; i < hi; i = i + 1u) {
    let key = sort_key(x[r * u.n + i]);
    na = na + select(0u, 1u, key > T);
    nt = nt + select(0u, 1u, key == T);
  }
  aboveAt[lid] = na;
  tieAt[lid] = nt;
  workgroupBarrier();
  if (lid == 0u) {
    var sa = 0u;
    var st = 0u;
    for (var t = 0u; t < 256u; t = t + 1u) {
      let a = aboveAt[t]; aboveAt[t] = sa; sa = sa + a;
      let b = tieAt[t]; tieAt[t] = st; st = st + b;
    }
    aboveTotal = sa;
  }
  workgroupBarrier();
  let totalAbove = aboveTotal;
  let ties = u.topk - totalAbove;
  var pa = aboveAt[lid];
  var pt = tieAt[lid];
  let base = r * u.P;
  for (var i = lo; i < hi; i = i + 1u) {
    let key = sort_key(x[r * u.n + i]);
    if (key > T) {
      keys[base + pa] = key; ids[base + pa] = i; pa = pa + 1u;
    } else if (key == T) {
      if (pt < ties) { keys[base + totalAbove + pt] = key; ids[base + totalAbove + pt] = i; }
      pt = pt + 1u;
    }
  }
  for (var i = u.topk + lid; i < u.P; i = i + 256u) { keys[base + i] = 0u; ids[base + i] = 0xffffffffu; }
}`,
});
