import type { Tensor } from '@kvsieve/core';
import { input, kernel, output, Params } from '../../gpu/program.js';
import type { OpEnv } from '../../gpu/storage.js';
import { BUILTINS, WG_INDEX, WG_REDUCE } from '../../gpu/wgsl.js';

const P = new Params([
  ['rows', 'u32'],
  ['n', 'u32'],
] as const);

// One workgroup per row. A row that is all -Inf (fully masked) becomes zeros, as on the CPU.
const SOFTMAX = kernel({
  name: 'softmax',
  params: P,
  buffers: () => [input('x', 'f32'), output('out', 'f32')],
  body: () => `${WG_REDUCE}
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
});

export function softmaxGpu(env: OpEnv, x: Tensor, d: { rows: number; n: number }): Tensor {
  const out = env.out(x.shape, 'f32', 'softmax');
  const batch = env.ctx.batch();
  batch.dispatch(
    SOFTMAX({}),
    { x: env.bind(x, 'softmax'), out: out.storage.binding },
    { rows: d.rows, n: d.n },
    batch.grid(d.rows),
  );
  batch.done();
  return out;
}
