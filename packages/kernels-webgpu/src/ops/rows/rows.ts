import { bytesPerElement, type Tensor } from '@kvsieve/core';
import { Params } from '../../gpu/context.js';
import type { OpEnv } from '../../gpu/storage.js';
import { BUILTINS, WG_INDEX } from '../../gpu/wgsl.js';

// Data movement for any dtype. Every op is an index map "output element o reads source element s"
// (s = NONE writes zero: an out-of-range row). Data are moved as raw bits: 32-bit dtypes one element
// per thread; 16-bit dtypes one output word (two elements) per thread, so writes never race.

const P = new Params([
  ['count', 'u32'],
  ['p0', 'u32'],
  ['p1', 'u32'],
  ['p2', 'u32'],
  ['p3', 'u32'],
] as const);

type Params5 = { count: number; p0: number; p1: number; p2: number; p3: number };

/** WGSL body of `fn source_index(o: u32) -> u32` per op. */
const MAPS = {
  // p0 = row width, p1 = rows in src
  gather: `let r = idx[o / u.p0];
  if (r < 0 || u32(r) >= u.p1) { return NONE; }
  return u32(r) * u.p0 + o % u.p0;`,
  // [a, b, c] -> [b, a, c] with p0 = a, p1 = b, p2 = c
  transpose: `let j = o / (u.p0 * u.p2);
  let rem = o % (u.p0 * u.p2);
  let i = rem / u.p2;
  return (i * u.p1 + j) * u.p2 + rem % u.p2;`,
  // p0 = n, p1 = start, p2 = length
  narrow: `return (o / u.p2) * u.p0 + u.p1 + o % u.p2;`,
} as const;

function remapSource(map: keyof typeof MAPS, bits: 16 | 32) {
  const withIdx = map === 'gather';
  const b = withIdx ? 3 : 2;
  const body =
    bits === 32
      ? `let o = wg * 256u + lid;
  if (o >= u.count) { return; }
  let s = source_index(o);
  out[o] = select(src[s], 0u, s == NONE);`
      : `let w = wg * 256u + lid;
  if (2u * w >= u.count) { return; }
  var word = 0u;
  for (var e = 0u; e < 2u; e = e + 1u) {
    let o = 2u * w + e;
    if (o < u.count) {
      let s = source_index(o);
      if (s != NONE) { word = word | (((src[s >> 1u] >> ((s & 1u) * 16u)) & 0xffffu) << (e * 16u)); }
    }
  }
  out[w] = word;`;
  return {
    key: `remap:${map}:${bits}`,
    code: () => `${P.decl(b)}
const NONE: u32 = 0xffffffffu;
@group(0) @binding(0) var<storage, read> src: array<u32>;
${withIdx ? '@group(0) @binding(1) var<storage, read> idx: array<i32>;' : ''}
@group(0) @binding(${b - 1}) var<storage, read_write> out: array<u32>;
fn source_index(o: u32) -> u32 {
  ${MAPS[map]}
}
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  ${WG_INDEX}
  ${body}
}`,
  };
}

function remap(
  env: OpEnv,
  op: string,
  map: keyof typeof MAPS,
  src: Tensor,
  idx: Tensor | null,
  out: Tensor,
  p: Omit<Params5, 'count'>,
) {
  const bits = bytesPerElement(src.dtype) === 2 ? 16 : 32;
  const batch = env.ctx.batch();
  const bindings = [env.bind(src, op), ...(idx ? [env.bind(idx, op)] : []), env.bind(out, op)];
  const threads = bits === 32 ? out.size : Math.ceil(out.size / 2);
  batch.dispatch(
    remapSource(map, bits),
    bindings,
    P.pack({ count: out.size, ...p }),
    batch.grid(Math.ceil(threads / 256)),
  );
  batch.submit();
}

export function gatherRowsGpu(
  env: OpEnv,
  src: Tensor,
  rows: Tensor,
  d: { R: number; width: number; n: number },
): Tensor {
  const out = env.out([d.n, ...src.shape.slice(1)], src.dtype, 'gatherRows');
  remap(env, 'gatherRows', 'gather', src, rows, out, { p0: d.width, p1: d.R, p2: 0, p3: 0 });
  return out;
}

export function transpose01Gpu(env: OpEnv, x: Tensor, d: { a: number; b: number; c: number }): Tensor {
  const out = env.out([d.b, d.a, d.c], x.dtype, 'transpose01');
  remap(env, 'transpose01', 'transpose', x, null, out, { p0: d.a, p1: d.b, p2: d.c, p3: 0 });
  return out;
}

export function narrowGpu(
  env: OpEnv,
  x: Tensor,
  start: number,
  length: number,
  rows: number,
  n: number,
): Tensor {
  const out = env.out([...x.shape.slice(0, -1), length], x.dtype, 'narrow');
  void rows;
  remap(env, 'narrow', 'narrow', x, null, out, { p0: n, p1: start, p2: length, p3: 0 });
  return out;
}

// Scatter writes rows of dst chosen at run time, so with 16-bit data two threads can share a word:
// each half is replaced with two atomics on disjoint bit masks.
function scatterSource(bits: 16 | 32) {
  const write =
    bits === 32
      ? 'dst[t] = src[o];'
      : `let h = (src[o >> 1u] >> ((o & 1u) * 16u)) & 0xffffu;
  let shift = (t & 1u) * 16u;
  atomicAnd(&dst[t >> 1u], ~(0xffffu << shift));
  atomicOr(&dst[t >> 1u], h << shift);`;
  return {
    key: `scatter:${bits}`,
    code: () => `${P.decl(3)}
@group(0) @binding(0) var<storage, read_write> dst: array<${bits === 32 ? 'u32' : 'atomic<u32>'}>;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read> src: array<u32>;
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  ${WG_INDEX}
  let o = wg * 256u + lid;
  if (o >= u.count) { return; }
  let r = idx[o / u.p0];
  if (r < 0 || u32(r) >= u.p1) { return; }
  let t = u32(r) * u.p0 + o % u.p0;
  ${write}
}`,
  };
}

export function scatterRowsGpu(
  env: OpEnv,
  dst: Tensor,
  rows: Tensor,
  src: Tensor,
  d: { R: number; width: number; n: number },
): void {
  const bits = bytesPerElement(src.dtype) === 2 ? 16 : 32;
  const batch = env.ctx.batch();
  const bindings = [
    env.bind(dst, 'scatterRows'),
    env.bind(rows, 'scatterRows'),
    env.bind(src, 'scatterRows'),
  ];
  const count = d.n * d.width;
  batch.dispatch(
    scatterSource(bits),
    bindings,
    P.pack({ count, p0: d.width, p1: d.R, p2: 0, p3: 0 }),
    batch.grid(Math.ceil(count / 256)),
  );
  batch.submit();
}
