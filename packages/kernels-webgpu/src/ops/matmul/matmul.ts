import type { Tensor } from '@kvsieve/core';
import { Params } from '../../gpu/context.js';
import type { OpEnv } from '../../gpu/storage.js';
import { HALF_CODECS, floatLoader, storageDecl } from '../../gpu/wgsl.js';
import { GEMV_MAX_ROWS, gemvDispatch } from './gemv.js';

const P = new Params([['M', 'u32'], ['K', 'u32'], ['N', 'u32']] as const);

// 64×64 output tiles, 256 threads each computing a 4×4 block (rows ty + 16i, cols tx + 16j), and
// K in steps of 16 through workgroup memory. B is decoded from f16/bf16 while it is staged, so
// 16-bit weights never need an f32 copy. Out-of-range tile elements load as zero.
const TILE = 64;
const TK = 16;

function source(bDType: Tensor['dtype'], transposeB: boolean) {
  const bIndex = transposeB ? 'col * u.K + k' : 'k * u.N + col';
  return {
    key: `matmul:${bDType}:${transposeB}`,
    code: () => `${HALF_CODECS}${P.decl(3)}
${storageDecl(0, 'a', 'f32', 'read')}${storageDecl(1, 'b', bDType, 'read')}${floatLoader('b', bDType)}
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
var<workgroup> As: array<f32, ${TK * TILE}>;
var<workgroup> Bs: array<f32, ${TK * TILE}>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row0 = wid.y * ${TILE}u;
  let col0 = wid.x * ${TILE}u;
  var acc: array<f32, 16>;
  for (var k0 = 0u; k0 < u.K; k0 = k0 + ${TK}u) {
    for (var e = lid; e < ${TK * TILE}u; e = e + 256u) {
      // A tile stored k-major: As[kk * TILE + r].
      let r = e / ${TK}u;
      let kk = e % ${TK}u;
      let row = row0 + r;
      let ka = k0 + kk;
      As[kk * ${TILE}u + r] = select(0.0, a[row * u.K + ka], row < u.M && ka < u.K);
      let kb = k0 + e / ${TILE}u;
      let col = col0 + e % ${TILE}u;
      let k = kb;
      Bs[e] = select(0.0, load_b(${bIndex}), col < u.N && kb < u.K);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${TK}u; kk = kk + 1u) {
      var av: array<f32, 4>;
      var bv: array<f32, 4>;
      for (var i = 0u; i < 4u; i = i + 1u) {
        av[i] = As[kk * ${TILE}u + l.y + 16u * i];
        bv[i] = Bs[kk * ${TILE}u + l.x + 16u * i];
      }
      for (var i = 0u; i < 4u; i = i + 1u) {
        for (var j = 0u; j < 4u; j = j + 1u) { acc[i * 4u + j] = acc[i * 4u + j] + av[i] * bv[j]; }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i = i + 1u) {
    let row = row0 + l.y + 16u * i;
    for (var j = 0u; j < 4u; j = j + 1u) {
      let col = col0 + l.x + 16u * j;
      if (row < u.M && col < u.N) { out[row * u.N + col] = acc[i * 4u + j]; }
    }
  }
}`,
  };
}

export function matmulGpu(env: OpEnv, a: Tensor, b: Tensor, d: { M: number; K: number; N: number }, transposeB: boolean): Tensor {
  const out = env.out([d.M, d.N], 'f32', 'matmul');
  if (d.M <= GEMV_MAX_ROWS) {
    gemvDispatch(env, a, b, out, d, transposeB);
    return out;
  }
  const batch = env.ctx.batch();
  const bindings = [env.bind(a, 'matmul'), env.bind(b, 'matmul'), out.storage.binding];
  batch.dispatch(source(b.dtype, transposeB), bindings, P.pack(d), [Math.ceil(d.N / TILE), Math.ceil(d.M / TILE)]);
  batch.submit();
  return out;
}
