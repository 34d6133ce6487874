import type { DType, Tensor } from '@kvsieve/core';
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
} from '../../gpu/wgsl.js';

const P = new Params([['count', 'u32']] as const);

// A 16-bit output is written one u32 word (two elements) per thread, so no two threads share a word.
function source(from: ElemKind, to: DType) {
  const body =
    to === 'f32'
      ? `let i = wg * 256u + lid;
  if (i >= u.count) { return; }
  out[i] = load_x(i);`
      : `let w = wg * 256u + lid;
  let i = 2u * w;
  if (i >= u.count) { return; }
  var word = ${to === 'f16' ? 'f32_to_f16' : 'f32_to_bf16'}(load_x(i));
  if (i + 1u < u.count) { word = word | (${to === 'f16' ? 'f32_to_f16' : 'f32_to_bf16'}(load_x(i + 1u)) << 16u); }
  out[w] = word;`;
  return {
    key: `cast:${from}:${to}`,
    code: () => `${enables(from)}${HALF_CODECS}${P.decl(2)}
${storageDecl(0, 'x', from, 'read')}${floatLoader('x', from)}
${storageDecl(1, 'out', to, 'read_write')}
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  ${WG_INDEX}
  ${body}
}`,
  };
}

export function castGpu(env: OpEnv, x: Tensor, dtype: DType): Tensor {
  const out = env.out(x.shape, dtype, 'cast');
  const batch = env.ctx.batch();
  const threads = dtype === 'f32' ? x.size : Math.ceil(x.size / 2);
  batch.dispatch(
    source(env.kind(x.dtype), dtype),
    [env.bind(x, 'cast'), out.storage.binding],
    P.pack({ count: x.size }),
    batch.grid(Math.ceil(threads / 256)),
  );
  batch.submit();
  return out;
}
