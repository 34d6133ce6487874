import type { Batch, Binding } from '../../gpu/context.js';
import { input, kernel, output, Params } from '../../gpu/program.js';
import { BUILTINS, WG_INDEX } from '../../gpu/wgsl.js';

// Bitonic sort of (key, index) pairs, rows padded to a power of two P. Scores become u32 keys whose
// order is the score order (NaN lowest, −0 = +0), and pairs compare by key descending then index
// ascending: ties go to the lower index and NaN last, exactly as core's compareScores. Distances
// below the block size BS run inside one workgroup's memory; longer ones run as one global
// compare-exchange dispatch each (a 128K row: 1 + 6 local and 21 global dispatches).

export const P = new Params([
  ['n', 'u32'],
  ['P', 'u32'],
  ['BS', 'u32'],
  ['k', 'u32'],
  ['j', 'u32'],
  ['rows', 'u32'],
  ['topk', 'u32'],
] as const);

export const COMMON = /* wgsl */ `
fn sort_key(v: f32) -> u32 {
  var b = bitcast<u32>(v);
  if ((b & 0x7fffffffu) > 0x7f800000u) { return 0u; }
  if (b == 0x80000000u) { b = 0u; }
  if ((b & 0x80000000u) != 0u) { return ~b; }
  return b | 0x80000000u;
}
fn before(ka: u32, ia: u32, kb: u32, ib: u32) -> bool {
  return ka > kb || (ka == kb && ia < ib);
}
/** The lower element of compare-exchange pair p at distance j. */
fn pair_low(p: u32, j: u32) -> u32 { return 2u * j * (p / j) + p % j; }
`;

type LocalVariant = { from: 'scores' | 'pairs' | 'merge'; block: number };

/**
 * Sorts blocks of BS pairs in workgroup memory. `from`: 'scores' builds the pairs from the rows of
 * x (padding past n) and runs the network up to BS; 'pairs' does the same on pairs already in
 * keys/ids; 'merge' runs the last steps (distances < BS) of stage u.k.
 */
export const LOCAL = kernel({
  name: 'topk:local',
  params: P,
  buffers: ({ from }: LocalVariant) => [
    ...(from === 'scores' ? [input('x', 'f32')] : []),
    output('keys', 'u32'),
    output('ids', 'u32'),
  ],
  body: ({ from, block }: LocalVariant) => {
    const load =
      from === 'scores'
        ? `let key = select(0u, sort_key(x[r * u.n + min(gi, u.n - 1u)]), gi < u.n);
    Ks[e] = key;
    Is[e] = select(0xffffffffu, gi, gi < u.n);`
        : `Ks[e] = keys[r * u.P + gi];
    Is[e] = ids[r * u.P + gi];`;
    // init: the whole network up to the block size; merge: the last steps of stage u.k.
    const loops =
      from !== 'merge'
        ? 'for (var k = 2u; k <= u.BS; k = k << 1u) { for (var j = k >> 1u; j > 0u; j = j >> 1u) {'
        : 'let k = u.k; { for (var j = u.BS >> 1u; j > 0u; j = j >> 1u) {';
    return `${COMMON}
var<workgroup> Ks: array<u32, ${block}>;
var<workgroup> Is: array<u32, ${block}>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.y;
  let base = wid.x * u.BS;
  for (var e = lid; e < u.BS; e = e + 256u) {
    let gi = base + e;
    ${load}
  }
  ${loops}
    workgroupBarrier();
    for (var p = lid; p < u.BS / 2u; p = p + 256u) {
      let i = pair_low(p, j);
      let l = i + j;
      let up = ((base + i) & k) == 0u;
      let lowFirst = before(Ks[i], Is[i], Ks[l], Is[l]);
      if (lowFirst != up) {
        let tk = Ks[i]; Ks[i] = Ks[l]; Ks[l] = tk;
        let ti = Is[i]; Is[i] = Is[l]; Is[l] = ti;
      }
    }
  } }
  workgroupBarrier();
  for (var e = lid; e < u.BS; e = e + 256u) {
    keys[r * u.P + base + e] = Ks[e];
    ids[r * u.P + base + e] = Is[e];
  }
}`;
  },
});

const GLOBAL = kernel({
  name: 'topk:global',
  params: P,
  buffers: () => [output('keys', 'u32'), output('ids', 'u32')],
  body: () => `${COMMON}
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  ${WG_INDEX}
  let t = wg * 256u + lid;
  let half = u.P / 2u;
  if (t >= u.rows * half) { return; }
  let r = t / half;
  let i = pair_low(t % half, u.j);
  let l = i + u.j;
  let a = r * u.P + i;
  let b = r * u.P + l;
  let ka = keys[a]; let ia = ids[a]; let kb = keys[b]; let ib = ids[b];
  let up = (i & u.k) == 0u;
  if (before(ka, ia, kb, ib) != up) {
    keys[a] = kb; ids[a] = ib; keys[b] = ka; ids[b] = ia;
  }
}`,
});

export const EXTRACT = kernel({
  name: 'topk:extract',
  params: P,
  buffers: () => [input('ids', 'u32'), output('out', 'i32')],
  body: () => `@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  ${WG_INDEX}
  let o = wg * 256u + lid;
  if (o >= u.rows * u.topk) { return; }
  out[o] = i32(ids[(o / u.topk) * u.P + o % u.topk]);
}`,
});

/** Sort rows of `P` pairs in place; `first` is the dispatch that builds and block-sorts them. */
export function encodeSort(
  batch: Batch,
  keys: Binding,
  ids: Binding,
  base: Record<'n' | 'P' | 'BS' | 'k' | 'j' | 'rows' | 'topk', number>,
  maxBlock: number,
  first: () => void,
): void {
  const { P: Pn, BS, rows } = base;
  first();
  const blocks: [number, number] = [Pn / BS, rows];
  for (let stage = BS * 2; stage <= Pn; stage *= 2) {
    for (let j = stage / 2; j >= BS; j /= 2) {
      batch.dispatch(
        GLOBAL({}),
        { keys, ids },
        { ...base, k: stage, j },
        batch.grid(Math.ceil((rows * Pn) / 2 / 256)),
      );
    }
    batch.dispatch(LOCAL({ from: 'merge', block: maxBlock }), { keys, ids }, { ...base, k: stage }, blocks);
  }
}
