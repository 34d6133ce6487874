import type { Tensor } from '@kvsieve/core';
import { BindingLimitError } from '../../errors.js';
import { kernel } from '../../gpu/program.js';
import type { OpEnv } from '../../gpu/storage.js';
import type { ElemKind } from '../../gpu/wgsl.js';
import { GEMV_MAX_ROWS, gemvDispatch, MATMUL_BUFFERS, P, putFn } from './gemv.js';
import { gemvMany, manyFits } from './gemv-many.js';

// 64×64 output tiles; 256 threads each compute a 4×4 block (rows 4ty…, cols 4tx…) as four vec4
// accumulators; K advances 16 at a time through workgroup memory, where each thread stages one vec4
// of A (four rows) and one of B (four columns). B is decoded from f16/bf16 or dequantized from its
// blocks while it is staged, so 16-bit and quantized weights never need an f32 copy. Out-of-range
// elements load as zero.
const TILE = 64;
const TK = 16;

const MATMUL = kernel({
  name: 'matmul',
  params: P,
  buffers: MATMUL_BUFFERS,
  body: (v: { b: ElemKind; transposeB: boolean; res: boolean }) => {
    const bAt = (k: string, col: string) =>
      `load_b(${v.transposeB ? `(${col}) * u.K + ${k}` : `${k} * u.N + ${col}`})`;
    const aAt = (row: string) => `a[(${row}) * u.K + ka]`;
    return `${putFn(v.res)}var<workgroup> As: array<vec4<f32>, ${TK * 16}>;
var<workgroup> Bs: array<vec4<f32>, ${TK * 16}>;
fn a_at(row: u32, ka: u32) -> f32 { return select(0.0, ${aAt('min(row, u.M - 1u)')}, row < u.M && ka < u.K); }
fn b_at(k: u32, col: u32) -> f32 { return select(0.0, ${bAt('k', 'min(col, u.N - 1u)')}, col < u.N && k < u.K); }
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row0 = wid.y * ${TILE}u;
  let col0 = wid.x * ${TILE}u;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  let kk = lid / 16u;
  let quad = 4u * (lid % 16u);
  for (var k0 = 0u; k0 < u.K; k0 = k0 + ${TK}u) {
    let ka = k0 + kk;
    let r = row0 + quad;
    As[lid] = vec4<f32>(a_at(r, ka), a_at(r + 1u, ka), a_at(r + 2u, ka), a_at(r + 3u, ka));
    let c = col0 + quad;
    Bs[lid] = vec4<f32>(b_at(ka, c), b_at(ka, c + 1u), b_at(ka, c + 2u), b_at(ka, c + 3u));
    workgroupBarrier();
    for (var t = 0u; t < ${TK}u; t = t + 1u) {
      let av = As[t * 16u + l.y];
      let bv = Bs[t * 16u + l.x];
      acc0 = acc0 + av.x * bv;
      acc1 = acc1 + av.y * bv;
      acc2 = acc2 + av.z * bv;
      acc3 = acc3 + av.w * bv;
    }
    workgroupBarrier();
  }
  let rows = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i = i + 1u) {
    let row = row0 + 4u * l.y + i;
    for (var j = 0u; j < 4u; j = j + 1u) {
      let col = col0 + 4u * l.x + j;
      if (row < u.M && col < u.N) { put(row * u.ldo + u.col0 + col, rows[i][j]); }
    }
  }
}`;
  },
});

export function matmulGpu(
  env: OpEnv,
  a: Tensor,
  b: Tensor,
  d: { M: number; K: number; N: number },
  transposeB: boolean,
  residual?: Tensor,
): Tensor {
  const parts = env.parts(b, 'matmul');
  if (parts.length > 1 && !transposeB) {
    throw new BindingLimitError(
      `matmul: ${b.name} is larger than one binding and kept in row ranges; such a weight is read as [N, K] with { transposeB: true }`,
    );
  }
  const out = env.out([d.M, d.N], 'f32', 'matmul');
  const a0 = env.bind(a, 'matmul');
  const res = residual ? { res: env.bind(residual, 'matmul') } : {};
  const batch = env.ctx.batch();
  // Each row range of a transposed b is a block of output columns.
  for (const p of parts) {
    const u = { M: d.M, K: d.K, N: transposeB ? p.rows : d.N, ldo: d.N, col0: transposeB ? p.rowStart : 0 };
    const buffers = { a: a0, b: p.binding, out: out.storage.binding, ...res };
    if (d.M <= GEMV_MAX_ROWS) {
      gemvDispatch(env, batch, buffers, b, u, transposeB);
    } else {
      batch.dispatch(MATMUL({ b: env.kind(b.dtype), transposeB, res: !!residual }), buffers, u, [
        Math.ceil(u.N / TILE),
        Math.ceil(d.M / TILE),
      ]);
    }
  }
  batch.done();
  return out;
}

/**
 * `a · bᵢᵀ` for each weight (of `rmsnorm(a)` with `norm`) in one GEMV dispatch, or null where
 * gemvMany cannot take them (the caller then runs the ops one by one).
 */
export function matmulManyGpu(
  env: OpEnv,
  a: Tensor,
  bs: readonly Tensor[],
  d: { M: number; K: number; N: readonly number[] },
  norm?: { weight: Tensor; eps: number },
): Tensor[] | null {
  if (!manyFits(env, bs, d, norm?.weight)) return null;
  const outs = d.N.map((n) => env.out([d.M, n], 'f32', 'matmul'));
  const batch = env.ctx.batch();
  const g = norm ? { g: env.bind(norm.weight, 'matmul'), eps: norm.eps } : undefined;
  const bindings = outs.map((o) => o.storage.binding);
  gemvMany(env, batch, env.bind(a, 'matmul'), bs, d, bindings, { norm: g });
  batch.done();
  return outs;
}

/** silu(a · gateᵀ) · (a · upᵀ) (of `rmsnorm(a)` with `norm`) in one GEMV dispatch, or null (see matmulManyGpu). */
export function swigluGpu(
  env: OpEnv,
  a: Tensor,
  gate: Tensor,
  up: Tensor,
  d: { M: number; K: number; N: number },
  norm?: { weight: Tensor; eps: number },
): Tensor | null {
  if (!manyFits(env, [gate, up], d, norm?.weight)) return null;
  const out = env.out([d.M, d.N], 'f32', 'swiglu');
  const batch = env.ctx.batch();
  const g = norm ? { g: env.bind(norm.weight, 'swiglu'), eps: norm.eps } : undefined;
  gemvMany(env, batch, env.bind(a, 'swiglu'), [gate, up], d, [out.storage.binding], {
    norm: g,
    swiglu: true,
  });
  batch.done();
  return out;
}
