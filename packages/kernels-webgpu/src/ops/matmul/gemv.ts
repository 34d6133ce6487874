import type { DType, Tensor } from '@kvsieve/core';
import type { Batch, Binding } from '../../gpu/context.js';
import { input, kernel, output, Params } from '../../gpu/program.js';
import type { OpEnv } from '../../gpu/storage.js';
import { BUILTINS, type ElemKind, WG_INDEX } from '../../gpu/wgsl.js';
import { activationReader, gemvUnit } from './gemv-units.js';

// Few rows of `a` (decode: M = 1), where a 64-row tile would be almost all padding. The weights are
// read exactly once, and consecutive invocations read consecutive addresses:
//   b [K, N] (not transposed): one invocation per output column, a staged in workgroup memory;
//   b [N, K] (transposed, the usual weight layout): LANES invocations share an output column, each
//     taking every LANES-th k, then their partial sums are added in workgroup memory.
export const GEMV_MAX_ROWS = 8;
const CHUNK = 256;
const LANES = 16;

/**
 * Uniforms and buffers of every matmul kernel (tiled and GEMV): `out [M, N] = a [M, K] · b`,
 * written to columns `col0 …` of an output with rows of `ldo` (a weight split into row ranges is
 * multiplied one range at a time, each filling its own columns).
 */
export const P = new Params([
  ['M', 'u32'],
  ['K', 'u32'],
  ['N', 'u32'],
  ['ldo', 'u32'],
  ['col0', 'u32'],
] as const);
export type MatmulUniforms = { M: number; K: number; N: number; ldo: number; col0: number };
export const MATMUL_BUFFERS = (v: { b: ElemKind; res: boolean }) => [
  input('a', 'f32'),
  input('b', v.b),
  ...(v.res ? [input('res', 'f32')] : []),
  output('out', 'f32'),
];

/**
 * `fn put(i, v)`: every matmul kernel's store, which adds the residual (MatmulOptions.residual) as
 * the product is written, so that a skip connection costs no dispatch of its own.
 */
export function putFn(res: boolean): string {
  return res
    ? 'fn put(i: u32, v: f32) { out[i] = res[i] + v; }\n'
    : 'fn put(i: u32, v: f32) { out[i] = v; }\n';
}

const COLUMNS = kernel({
  name: 'gemv',
  params: P,
  buffers: MATMUL_BUFFERS,
  body: ({ MR, res }: { b: ElemKind; MR: number; res: boolean }) => `const MR: u32 = ${MR}u;
${putFn(res)}var<workgroup> As: array<f32, ${MR * CHUNK}>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let j = wid.x * 256u + lid;
  var acc: array<f32, ${MR}>;
  for (var k0 = 0u; k0 < u.K; k0 = k0 + ${CHUNK}u) {
    let kn = min(${CHUNK}u, u.K - k0);
    workgroupBarrier();
    for (var i = 0u; i < MR; i = i + 1u) {
      As[i * ${CHUNK}u + lid] = select(0.0, a[min(i, u.M - 1u) * u.K + k0 + lid], i < u.M && lid < kn);
    }
    workgroupBarrier();
    if (j < u.N) {
      for (var kk = 0u; kk < kn; kk = kk + 1u) {
        let bv = load_b((k0 + kk) * u.N + j);
        for (var i = 0u; i < MR; i = i + 1u) { acc[i] = acc[i] + As[i * ${CHUNK}u + kk] * bv; }
      }
    }
  }
  if (j < u.N) {
    for (var i = 0u; i < MR; i = i + 1u) { if (i < u.M) { put(i * u.ldo + u.col0 + j, acc[i]); } }
  }
}`,
});

// On a GPU, LANES invocations share a column so that neighbours read neighbouring addresses. A CPU
// rasterizer (lavapipe) runs a workgroup's invocations as SIMD lanes of one thread, where the
// workgroup-memory reduction and its barrier cost more than the loads: there every invocation
// takes a whole column (measured on lavapipe: 2–3× faster; see the package README).
type RowsVariant = { b: ElemKind; MR: number; lanes: number; wg: number; unit: boolean; res: boolean };

const ROWS = kernel({
  name: 'gemvT',
  params: P,
  buffers: (v: RowsVariant) => {
    const ur = v.unit ? gemvUnit(v.b as DType) : null;
    if (!ur) return MATMUL_BUFFERS(v);
    const res = v.res ? [input('res', 'f32')] : [];
    return [input('a', 'vec4<f32>'), input('b', ur.kind), ...res, output('out', 'f32')];
  },
  body: ({ b, MR, lanes, wg, unit, res }: RowsVariant) => {
    const ur = unit ? gemvUnit(b as DType) : null;
    // One named accumulator per row of a rather than an array indexed in a loop.
    const rows = Array.from({ length: MR }, (_, i) => i);
    const xAt = (i: number) => (i === 0 ? '0u' : `min(${i}u, u.M - 1u) * u.K`);
    const acc = rows.map((i) => `var acc${i} = 0.0;`).join(' ');
    // With a unit reader (gemv-units.ts) each step takes a whole unit of the row; else one element.
    const loop = ur
      ? `  ${acc}
  for (var un = lane; un < u.K / ${ur.size}u; un = un + ${lanes}u) {
    ${rows.map((i) => `xrow = ${xAt(i)}; acc${i} = acc${i} + dot_b(jj, un, un * ${ur.size}u);`).join('\n    ')}
  }`
      : `  ${acc}
  for (var k = lane; k < u.K; k = k + ${lanes}u) {
    let bv = load_b(jj * u.K + k);
    ${rows.map((i) => `acc${i} = acc${i} + a[${xAt(i)} + k] * bv;`).join('\n    ')}
  }`;
    const store = (i: number, v: string) =>
      i === 0 ? `put(u.col0 + j, ${v});` : `if (${i}u < u.M) { put(${i}u * u.ldo + u.col0 + j, ${v}); }`;
    const helpers = putFn(res) + (ur ? activationReader(false) + ur.helpers + ur.dot('b') : '');
    if (lanes === 1) {
      return `${helpers}@compute @workgroup_size(${wg})
fn main(${BUILTINS}) {
  ${WG_INDEX}
  let lane = 0u;
  let j = wg * ${wg}u + lid;
  let jj = min(j, u.N - 1u);
${loop}
  if (j < u.N) {
    ${rows.map((i) => store(i, `acc${i}`)).join('\n    ')}
  }
}`;
    }
    return `var<workgroup> part: array<f32, ${wg * MR}>;
${helpers}@compute @workgroup_size(${wg})
fn main(${BUILTINS}) {
  ${WG_INDEX}
  let lane = lid % ${lanes}u;
  let j = wg * ${wg / lanes}u + lid / ${lanes}u;
  let jj = min(j, u.N - 1u);
${loop}
  ${rows.map((i) => `part[${i * wg}u + lid] = acc${i};`).join(' ')}
  workgroupBarrier();
  if (lane == 0u && j < u.N) {
    for (var i = 0u; i < ${MR}u; i = i + 1u) {
      var s = 0.0;
      for (var t = 0u; t < ${lanes}u; t = t + 1u) { s = s + part[i * ${wg}u + lid + t]; }
      if (i < u.M) { put(i * u.ldo + u.col0 + j, s); }
    }
  }
}`;
  },
});

// With subgroups of a fixed size S (opt-in): one subgroup per weight row, its lanes reading
// neighbouring elements, the row summed by subgroupAdd — no workgroup memory and no barrier. Meant
// for GPUs (S = 32: a warp reads a row's consecutive words), not yet measured on one; on lavapipe
// (S = 8) it is slower than a row per invocation.
const SUBGROUP_ROWS = kernel({
  name: 'gemvS',
  params: P,
  buffers: MATMUL_BUFFERS,
  enables: ['subgroups'],
  body: ({
    MR,
    S,
    wg,
    res,
  }: {
    b: ElemKind;
    MR: number;
    S: number;
    wg: number;
    res: boolean;
  }) => `const MR: u32 = ${MR}u;
${putFn(res)}@compute @workgroup_size(${wg})
fn main(${BUILTINS}, @builtin(subgroup_invocation_id) lane: u32) {
  ${WG_INDEX}
  let j = wg * ${wg / S}u + lid / ${S}u;
  let jj = min(j, u.N - 1u);
  var acc: array<f32, ${MR}>;
  for (var k = lane; k < u.K; k = k + ${S}u) {
    let bv = load_b(jj * u.K + k);
    for (var i = 0u; i < MR; i = i + 1u) { acc[i] = acc[i] + a[min(i, u.M - 1u) * u.K + k] * bv; }
  }
  for (var i = 0u; i < MR; i = i + 1u) {
    let s = subgroupAdd(acc[i]);
    if (lane == 0u && j < u.N && i < u.M) { put(i * u.ldo + u.col0 + j, s); }
  }
}`,
});

/** One GEMV dispatch over `b` (one row range of it, for a split weight). */
export function gemvDispatch(
  env: OpEnv,
  batch: Batch,
  buffers: { a: Binding; b: Binding; out: Binding; res?: Binding },
  b: Tensor,
  d: MatmulUniforms,
  transposeB: boolean,
) {
  const MR = d.M <= 1 ? 1 : d.M <= 2 ? 2 : d.M <= 4 ? 4 : 8;
  const res = buffers.res !== undefined;
  const v = { b: env.kind(b.dtype), MR, res };
  const S = env.ctx.subgroupSize;
  if (transposeB && S !== null) {
    const wg = Math.max(S, 64);
    batch.dispatch(SUBGROUP_ROWS({ ...v, S, wg }), buffers, d, batch.grid(Math.ceil(d.N / (wg / S))));
  } else if (transposeB) {
    const [lanes, wg] = env.ctx.cpuRasterizer ? [1, 64] : [LANES, 256];
    // 16-bit weights are read as packed words by the unit reader, even where WGSL f16 is native.
    // Units for one row of a (decode) only: with more rows the reader would be unrolled per row,
    // and lavapipe's compiler takes up to a minute per variant (Q4_K with 8 rows).
    const ur = gemvUnit(b.dtype);
    const unit = ur !== null && d.K % ur.size === 0 && MR === 1;
    const kind = unit ? b.dtype : v.b;
    batch.dispatch(
      ROWS({ b: kind, MR, lanes, wg, unit, res }),
      buffers,
      d,
      batch.grid(Math.ceil(d.N / (wg / lanes))),
    );
  } else {
    batch.dispatch(COLUMNS(v), buffers, d, [Math.ceil(d.N / 256)]);
  }
}
