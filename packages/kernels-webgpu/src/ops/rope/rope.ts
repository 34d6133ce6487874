import type { RopeStyle, Tensor } from '@kvsieve/core';
import { input, kernel, output, Params } from '../../gpu/program.js';
import type { OpEnv } from '../../gpu/storage.js';
import { BUILTINS, WG_INDEX } from '../../gpu/wgsl.js';

const P = new Params([
  ['n', 'u32'],
  ['heads', 'u32'],
  ['dim', 'u32'],
  ['half', 'u32'],
] as const);

// One thread per element of x: a rotated feature computes its pair's rotation, others copy.
// The angle is reduced modulo 2π in two steps (Cody–Waite) before cos/sin, because GPU sin/cos lose
// accuracy for the large angles of long contexts (position · invFreq reaches 10^5 rad).
const ROPE = kernel({
  name: 'rope',
  params: P,
  buffers: () => [input('x', 'f32'), input('pos', 'i32'), input('freq', 'f32'), output('out', 'f32')],
  body: ({ style }: { style: RopeStyle }) => {
    const pair =
      style === 'half'
        ? `let isFirst = f < u.half; let i = select(f - u.half, f, isFirst); let partner = select(f - u.half, f + u.half, isFirst);`
        : `let isFirst = (f & 1u) == 0u; let i = f / 2u; let partner = select(f - 1u, f + 1u, isFirst);`;
    return `fn reduce_angle(a: f32) -> f32 {
  let k = round(a * 0.15915494309189535);
  // 2π split into a head exact in f32 and a tail.
  return (a - k * 6.28125) - k * 0.0019353071795864769;
}
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  ${WG_INDEX}
  let e = wg * 256u + lid;
  if (e >= u.n * u.heads * u.dim) { return; }
  let f = e % u.dim;
  let t = e / (u.heads * u.dim);
  if (f >= 2u * u.half) { out[e] = x[e]; return; }
  ${pair}
  let base = e - f;
  let angle = reduce_angle(f32(pos[t]) * freq[i]);
  let c = cos(angle);
  let s = sin(angle);
  let self_v = x[e];
  let other = x[base + partner];
  out[e] = select(self_v * c + other * s, self_v * c - other * s, isFirst);
}`;
  },
});

export function ropeGpu(
  env: OpEnv,
  x: Tensor,
  positions: Tensor,
  invFreq: Tensor,
  style: RopeStyle,
  d: { n: number; heads: number; dim: number; half: number },
): Tensor {
  const out = env.out(x.shape, 'f32', 'rope');
  const batch = env.ctx.batch();
  const buffers = {
    x: env.bind(x, 'rope'),
    pos: env.bind(positions, 'rope'),
    freq: env.bind(invFreq, 'rope'),
    out: out.storage.binding,
  };
  batch.dispatch(
    ROPE({ style }),
    buffers,
    { n: d.n, heads: d.heads, dim: d.dim, half: d.half },
    batch.grid(Math.ceil(x.size / 256)),
  );
  batch.done();
  return out;
}
