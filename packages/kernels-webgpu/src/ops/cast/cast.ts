import type { DType, Tensor } from '@kvsieve/core';
import { input, kernel, output, Params } from '../../gpu/program.js';
import type { OpEnv } from '../../gpu/storage.js';
import { BUILTINS, type ElemKind, WG_INDEX } from '../../gpu/wgsl.js';

const P = new Params([['count', 'u32']] as const);

// A 16-bit output is written one u32 word (two elements) per thread, so no two threads share a word.
const CAST = kernel({
  name: 'cast',
  params: P,
  buffers: (v: { from: ElemKind; to: DType }) => [input('x', v.from), output('out', v.to)],
  body: (v) => {
    const encode = v.to === 'f16' ? 'f32_to_f16' : 'f32_to_bf16';
    const body =
      v.to === 'f32'
        ? `let i = wg * 256u + lid;
  if (i >= u.count) { return; }
  out[i] = load_x(i);`
        : `let w = wg * 256u + lid;
  let i = 2u * w;
  if (i >= u.count) { return; }
  var word = ${encode}(load_x(i));
  if (i + 1u < u.count) { word = word | (${encode}(load_x(i + 1u)) << 16u); }
  out[w] = word;`;
    return `@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  ${WG_INDEX}
  ${body}
}`;
  },
});

export function castGpu(env: OpEnv, x: Tensor, dtype: DType): Tensor {
  const out = env.out(x.shape, dtype, 'cast');
  const batch = env.ctx.batch();
  const threads = dtype === 'f32' ? x.size : Math.ceil(x.size / 2);
  batch.dispatch(
    CAST({ from: env.kind(x.dtype), to: dtype }),
    { x: env.bind(x, 'cast'), out: out.storage.binding },
    { count: x.size },
    batch.grid(Math.ceil(threads / 256)),
  );
  batch.done();
  return out;
}
