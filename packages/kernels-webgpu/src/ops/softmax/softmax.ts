import type { Tensor } from '@kvsieve/core';
import { Params } from '../../gpu/context.js';
import type { OpEnv } from '../../gpu/storage.js';
import { BUILTINS, WG_INDEX, WG_REDUCE } from '../../gpu/wgsl.js';

const P = new Params([
  ['rows', 'u32'],
  ['n', 'u32'],
] as const);

// One workgroup per row. A row that is all -Inf (fully masked) becomes zeros, as on the CPU.
const SOURCE = {
  key: 'softmax',
  code: () => `${WG_REDUCE}${P.decl(2)}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  ${WG_INDEX}
  if (wg >= u.rows) { return; }
  let base = wg * u.n;
  var m = -0x1.fffffep+127f;
  var any = 0.0;
  for (var i = lid; i < u.n; i = i + 256u) {
    let v = x[base + i];
    if (v > -0x1.fffffep+127f) { any = 1.0; m = max(m, v); }
  }
  let rowMax = wg_max(m, lid);
  let rowAny = wg_max(any, lid);
  var s = 0.0;
  for (var i = lid; i < u.n; i = i + 256u) {
    let v = x[base + i];
    if (v > -0x1.fffffep+127f) { s = s + exp(v - rowMax); }
  }
  let total = wg_sum(s, lid);
  for (var i = lid; i < u.n; i = i + 256u) {
    let v = x[base + i];
    var p = 0.0;
    if (rowAny > 0.0 && v > -0x1.fffffep+127f && total > 0.0) { p = exp(v - rowMax) / total; }
    out[base + i] = p;
  }
}`,
};

export function softmaxGpu(env: OpEnv, x: Tensor, d: { rows: number; n: number }): Tensor {
  const out = env.out(x.shape, 'f32', 'softmax');
  const batch = env.ctx.batch();
  batch.dispatch(
    SOURCE,
    [env.bind(x, 'softmax'), out.storage.binding],
    P.pack({ rows: d.rows, n: d.n }),
    batch.grid(d.rows),
  );
  batch.submit();
  return out;
}
