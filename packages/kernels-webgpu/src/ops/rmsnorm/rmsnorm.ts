import type { Tensor } from '@kvsieve/core';
import { input, kernel, output, Params } from '../../gpu/program.js';
import type { OpEnv } from '../../gpu/storage.js';
import { BUILTINS, type ElemKind, WG_INDEX, WG_REDUCE } from '../../gpu/wgsl.js';

const P = new Params([
  ['rows', 'u32'],
  ['D', 'u32'],
  ['eps', 'f32'],
] as const);

// One workgroup per row: the sum of squares is a workgroup reduction, so any D works.
const RMSNORM = kernel({
  name: 'rmsnorm',
  params: P,
  buffers: (v: { w: ElemKind }) => [input('x', 'f32'), input('w', v.w), output('out', 'f32')],
  body: () => `${WG_REDUCE}
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  ${WG_INDEX}
  if (wg >= u.rows) { return; }
  let base = wg * u.D;
  var ss = 0.0;
  for (var i = lid; i < u.D; i = i + 256u) { let v = x[base + i]; ss = ss + v * v; }
  let total = wg_sum(ss, lid);
  let inv = 1.0 / sqrt(total / f32(u.D) + u.eps);
  for (var i = lid; i < u.D; i = i + 256u) { out[base + i] = x[base + i] * inv * load_w(i); }
}`,
});

export function rmsnormGpu(
  env: OpEnv,
  x: Tensor,
  weight: Tensor,
  eps: number,
  d: { rows: number; D: number },
): Tensor {
  const out = env.out(x.shape, 'f32', 'rmsnorm');
  const batch = env.ctx.batch();
  batch.dispatch(
    RMSNORM({ w: env.kind(weight.dtype) }),
    { x: env.bind(x, 'rmsnorm'), w: env.bind(weight, 'rmsnorm'), out: out.storage.binding },
    { rows: d.rows, D: d.D, eps },
    batch.grid(d.rows),
  );
  batch.done();
  return out;
}
