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
} from '../../gpu/wgsl.js';

const P = new Params([
  ['n', 'u32'],
  ['D', 'u32'],
  ['vocab', 'u32'],
] as const);

// An id outside the table (only possible for ids computed on the GPU; uploaded ids are checked on
// the host) gives a zero row instead of reading another row.
function source(dtype: ElemKind) {
  return {
    key: `embedding:${dtype}`,
    code: () => `${enables(dtype)}${HALF_CODECS}${P.decl(3)}
${storageDecl(0, 'table', dtype, 'read')}${floatLoader('table', dtype)}
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  ${WG_INDEX}
  let o = wg * 256u + lid;
  if (o >= u.n * u.D) { return; }
  let id = ids[o / u.D];
  if (id < 0 || u32(id) >= u.vocab) { out[o] = 0.0; return; }
  out[o] = load_table(u32(id) * u.D + o % u.D);
}`,
  };
}

export function embeddingGpu(
  env: OpEnv,
  table: Tensor,
  ids: Tensor,
  d: { vocab: number; D: number; n: number },
): Tensor {
  const out = env.out([d.n, d.D], 'f32', 'embedding');
  const batch = env.ctx.batch();
  const bindings = [env.bind(table, 'embedding'), env.bind(ids, 'embedding'), out.storage.binding];
  batch.dispatch(
    source(env.kind(table.dtype)),
    bindings,
    P.pack({ n: d.n, D: d.D, vocab: d.vocab }),
    batch.grid(Math.ceil((d.n * d.D) / 256)),
  );
  batch.submit();
  return out;
}
