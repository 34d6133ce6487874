import type { PoolMode, Tensor } from '@kvsieve/core';
import { input, kernel, output, Params } from '../../gpu/program.js';
import type { OpEnv } from '../../gpu/storage.js';
import { BUILTINS, WG_INDEX } from '../../gpu/wgsl.js';

const P = new Params([
  ['rows', 'u32'],
  ['n', 'u32'],
  ['kernel', 'u32'],
  ['ninf', 'f32'],
] as const);

// One thread per output; kernels are small (SnapKV uses 5–7). Average counts the padding.
const POOL1D = kernel({
  name: 'pool1d',
  params: P,
  buffers: () => [input('x', 'f32'), output('out', 'f32')],
  body: ({ mode }: { mode: PoolMode }) => `@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  ${WG_INDEX}
  let o = wg * 256u + lid;
  if (o >= u.rows * u.n) { return; }
  let r = o / u.n;
  let i = i32(o % u.n);
  let pad = i32(u.kernel / 2u);
  let lo = max(0, i - pad);
  let hi = min(i32(u.n) - 1, i + pad);
  var acc = ${mode === 'max' ? 'u.ninf' : '0.0'};
  for (var j = lo; j <= hi; j = j + 1) {
    let v = x[r * u.n + u32(j)];
    acc = ${mode === 'max' ? 'max(acc, v)' : 'acc + v'};
  }
  out[o] = ${mode === 'max' ? 'acc' : 'acc / f32(u.kernel)'};
}`,
});

export function pool1dGpu(
  env: OpEnv,
  x: Tensor,
  R: number,
  n: number,
  kernel: number,
  mode: PoolMode,
): Tensor {
  const out = env.out(x.shape, 'f32', 'pool1d');
  const batch = env.ctx.batch();
  batch.dispatch(
    POOL1D({ mode }),
    { x: env.bind(x, 'pool1d'), out: out.storage.binding },
    { rows: R, n, kernel, ninf: Number.NEGATIVE_INFINITY },
    batch.grid(Math.ceil((R * n) / 256)),
  );
  batch.done();
  return out;
}
