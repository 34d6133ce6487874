import { bytesPerElement, type Tensor } from '@kvsieve/core';
import { input, kernel, output, Params, type UniformsOf } from '../../gpu/program.js';
import type { OpEnv } from '../../gpu/storage.js';
import { BUILTINS, HALF_CODECS, WG_INDEX } from '../../gpu/wgsl.js';

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

type RemapVariant = { map: keyof typeof MAPS; bits: 16 | 32 };

const REMAP = kernel({
  name: 'remap',
  params: P,
  buffers: (v: RemapVariant) => [
    input('src', 'u32'),
    ...(v.map === 'gather' ? [input('idx', 'i32')] : []),
    output('out', 'u32'),
  ],
  body: ({ map, bits }: RemapVariant) => {
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
    return `const NONE: u32 = 0xffffffffu;
fn source_index(o: u32) -> u32 {
  ${MAPS[map]}
}
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  ${WG_INDEX}
  ${body}
}`;
  },
});

function remap(
  env: OpEnv,
  op: string,
  map: keyof typeof MAPS,
  src: Tensor,
  idx: Tensor | null,
  out: Tensor,
  p: Omit<UniformsOf<typeof P>, 'count'>,
) {
  const bits = bytesPerElement(src.dtype) === 2 ? 16 : 32;
  const batch = env.ctx.batch();
  const buffers = {
    src: env.bind(src, op),
    out: env.bind(out, op),
    ...(idx ? { idx: env.bind(idx, op) } : {}),
  };
  const threads = bits === 32 ? out.size : Math.ceil(out.size / 2);
  batch.dispatch(
    REMAP({ map, bits }),
    buffers,
    { count: out.size, ...p },
    batch.grid(Math.ceil(threads / 256)),
  );
  batch.done();
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
const SET_HALF = `fn set_half(t: u32, h: u32) {
  let shift = (t & 1u) * 16u;
  atomicAnd(&dst[t >> 1u], ~(0xffffu << shift));
  atomicOr(&dst[t >> 1u], h << shift);
}
`;
const SCATTER = kernel({
  name: 'scatter',
  params: P,
  buffers: ({ bits }: { bits: 16 | 32 }) => [
    output('dst', bits === 32 ? 'u32' : 'atomic_u32'),
    input('idx', 'i32'),
    input('src', 'u32'),
  ],
  body: ({ bits }) => {
    const write =
      bits === 32 ? 'dst[t] = src[o];' : 'set_half(t, (src[o >> 1u] >> ((o & 1u) * 16u)) & 0xffffu);';
    return `${bits === 16 ? SET_HALF : ''}@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  ${WG_INDEX}
  let o = wg * 256u + lid;
  if (o >= u.count) { return; }
  let r = idx[o / u.p0];
  if (r < 0 || u32(r) >= u.p1) { return; }
  let t = u32(r) * u.p0 + o % u.p0;
  ${write}
}`;
  },
});

// Scatter of f32 rows into an f16/bf16 dst, rounding each value with cast's codec as it is written
// (one dispatch instead of cast then scatter). Even widths: one thread per dst word, packing two
// converted halves, no atomics (KV cache rows). Odd widths: one thread per element, halves replaced
// with atomics as above.
const SCATTER_NARROW = kernel({
  name: 'scatter_narrow',
  params: P,
  buffers: ({ words }: { to: 'f16' | 'bf16'; words: boolean }) => [
    output('dst', words ? 'u32' : 'atomic_u32'),
    input('idx', 'i32'),
    input('src', 'f32'),
  ],
  body: ({ to, words }) => {
    const encode = to === 'f16' ? 'f32_to_f16' : 'f32_to_bf16';
    const write = words
      ? `dst[t] = ${encode}(src[2u * o]) | (${encode}(src[2u * o + 1u]) << 16u);`
      : `set_half(t, ${encode}(src[o]));`;
    return `${HALF_CODECS}${words ? '' : SET_HALF}
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  ${WG_INDEX}
  let o = wg * 256u + lid;
  if (o >= u.count) { return; }
  let r = idx[o / u.p0];
  if (r < 0 || u32(r) >= u.p1) { return; }
  let t = u32(r) * u.p0 + o % u.p0;
  ${write}
}`;
  },
});

export function scatterRowsGpu(
  env: OpEnv,
  dst: Tensor,
  rows: Tensor,
  src: Tensor,
  d: { R: number; width: number; n: number },
): void {
  if (src.dtype !== dst.dtype) {
    scatterNarrowing(env, dst, rows, src, d);
    return;
  }
  const half = bytesPerElement(src.dtype) === 2;
  // 16-bit rows of even width start on a word: copy whole words, with no atomics (KV cache rows).
  const words = half && d.width % 2 === 0;
  const bits = half && !words ? 16 : 32;
  const width = words ? d.width / 2 : d.width;
  const batch = env.ctx.batch();
  const buffers = {
    dst: env.bind(dst, 'scatterRows'),
    idx: env.bind(rows, 'scatterRows'),
    src: env.bind(src, 'scatterRows'),
  };
  const count = d.n * width;
  batch.dispatch(
    SCATTER({ bits }),
    buffers,
    { count, p0: width, p1: d.R, p2: 0, p3: 0 },
    batch.grid(Math.ceil(count / 256)),
  );
  batch.done();
}

/** f32 `src` rows into f16/bf16 `dst` (validated by core's validateScatter). */
function scatterNarrowing(
  env: OpEnv,
  dst: Tensor,
  rows: Tensor,
  src: Tensor,
  d: { R: number; width: number; n: number },
): void {
  const words = d.width % 2 === 0;
  const width = words ? d.width / 2 : d.width;
  const batch = env.ctx.batch();
  const count = d.n * width;
  batch.dispatch(
    SCATTER_NARROW({ to: dst.dtype as 'f16' | 'bf16', words }),
    {
      dst: env.bind(dst, 'scatterRows'),
      idx: env.bind(rows, 'scatterRows'),
      src: env.bind(src, 'scatterRows'),
    },
    { count, p0: width, p1: d.R, p2: 0, p3: 0 },
    batch.grid(Math.ceil(count / 256)),
  );
  batch.done();
}
