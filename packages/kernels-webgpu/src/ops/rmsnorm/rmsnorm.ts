import type { Tensor } from '@kvsieve/core';
import { Params } from '../../gpu/context.js';
import type { OpEnv } from '../../gpu/storage.js';
import {
  BUILTINS,
  type ElemKind,
  enables,
  floatLoader,
  HALF_CODECS,
  storageDecl,
  WG_INDEX,
  WG_REDUCE,
} from '../../gpu/wgsl.js';

const P = new Params([
  ['rows', 'u32'],
  ['D', 'u32'],
  ['eps', 'f32'],
] as const);

// One workgroup per row: the sum of squares is a workgroup reduction, so any D works.
function source(wDType: ElemKind) {
  return {
    key: `rmsnorm:${wDType}`,
    code: () => `${enables(wDType)}${HALF_CODECS}${WG_REDUCE}${P.decl(3)}
${storageDecl(0, 'x', 'f32', 'read')}${storageDecl(1, 'w', wDType, 'read')}${floatLoader('w', wDType)}
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
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
  };
}

export function rmsnormGpu(
  env: OpEnv,
  x: Tensor,
  weight: Tensor,
  eps: number,
  d: { rows: number; D: number },
): Tensor {
  const out = env.out(x.shape, 'f32', 'rmsnorm');
  const batch = env.ctx.batch();
  const bindings = [env.bind(x, 'rmsnorm'), env.bind(weight, 'rmsnorm'), out.storage.binding];
  batch.dispatch(
    source(env.kind(weight.dtype)),
    bindings,
    P.pack({ rows: d.rows, D: d.D, eps }),
    batch.grid(d.rows),
  );
  batch.submit();
  return out;
}
