import type { Tensor } from '@kvsieve/core';
import { Params } from '../../gpu/context.js';
import type { OpEnv } from '../../gpu/storage.js';
import { HALF_CODECS, floatLoader, storageDecl } from '../../gpu/wgsl.js';

// Few rows of `a` (decode: M = 1): a tiled kernel would spend 63 of 64 tile rows on padding. Here
// each thread owns one output column for all M ≤ MR rows, `a` is staged through workgroup memory in
// chunks of 256, and the weights are read exactly once.
export const GEMV_MAX_ROWS = 8;
const CHUNK = 256;

const P = new Params([['M', 'u32'], ['K', 'u32'], ['N', 'u32']] as const);

function source(bDType: Tensor['dtype'], transposeB: boolean, MR: number) {
  const bIndex = transposeB ? 'j * u.K + k' : 'k * u.N + j';
  return {
    key: `gemv:${bDType}:${transposeB}:${MR}`,
    code: () => `${HALF_CODECS}${P.decl(3)}
${storageDecl(0, 'a', 'f32', 'read')}${storageDecl(1, 'b', bDType, 'read')}${floatLoader('b', bDType)}
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
const MR: u32 = ${MR}u;
var<workgroup> As: array<f32, ${MR * CHUNK}>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let j = wid.x * 256u + lid;
  var acc: array<f32, ${MR}>;
  for (var k0 = 0u; k0 < u.K; k0 = k0 + ${CHUNK}u) {
    let kn = min(${CHUNK}u, u.K - k0);
    workgroupBarrier();
    for (var i = 0u; i < MR; i = i + 1u) {
      As[i * ${CHUNK}u + lid] = select(0.0, a[i * u.K + k0 + lid], i < u.M && lid < kn);
    }
    workgroupBarrier();
    if (j < u.N) {
      for (var kk = 0u; kk < kn; kk = kk + 1u) {
        let k = k0 + kk;
        let bv = load_b(${bIndex});
        for (var i = 0u; i < MR; i = i + 1u) { acc[i] = acc[i] + As[i * ${CHUNK}u + kk] * bv; }
      }
    }
  }
  if (j < u.N) {
    for (var i = 0u; i < MR; i = i + 1u) { if (i < u.M) { out[i * u.N + j] = acc[i]; } }
  }
}`,
  };
}

export function gemvDispatch(env: OpEnv, a: Tensor, b: Tensor, out: Tensor, d: { M: number; K: number; N: number }, transposeB: boolean) {
  const MR = d.M <= 1 ? 1 : d.M <= 2 ? 2 : d.M <= 4 ? 4 : 8;
  const batch = env.ctx.batch();
  const bindings = [env.bind(a, 'matmul'), env.bind(b, 'matmul'), out.storage.binding];
  batch.dispatch(source(b.dtype, transposeB, MR), bindings, P.pack(d), [Math.ceil(d.N / 256)]);
  batch.submit();
}
