import type { Tensor } from '@kvsieve/core';
import { input, kernel, output, Params } from '../../gpu/program.js';
import type { OpEnv } from '../../gpu/storage.js';
import { BUILTINS, type ElemKind, WG_INDEX } from '../../gpu/wgsl.js';

const P = new Params([
  ['n', 'u32'],
  ['D', 'u32'],
  ['vocab', 'u32'],
] as const);

// An id outside the table (only possible for ids computed on the GPU; uploaded ids are checked on
// the host) gives a zero row instead of reading another row.
const EMBEDDING = kernel({
  name: 'embedding',
  params: P,
  buffers: (v: { table: ElemKind }) => [input('table', v.table), input('ids', 'i32'), output('out', 'f32')],
  body: () => `@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  ${WG_INDEX}
  let o = wg * 256u + lid;
  if (o >= u.n * u.D) { return; }
  let id = ids[o / u.D];
  if (id < 0 || u32(id) >= u.vocab) { out[o] = 0.0; return; }
  out[o] = load_table(u32(id) * u.D + o % u.D);
}`,
});

export function embeddingGpu(
  env: OpEnv,
  table: Tensor,
  ids: Tensor,
  d: { vocab: number; D: number; n: number },
): Tensor {
  const out = env.out([d.n, d.D], 'f32', 'embedding');
  const batch = env.ctx.batch();
  batch.dispatch(
    EMBEDDING({ table: env.kind(table.dtype) }),
    { table: env.bind(table, 'embedding'), ids: env.bind(ids, 'embedding'), out: out.storage.binding },
    { n: d.n, D: d.D, vocab: d.vocab },
    batch.grid(Math.ceil((d.n * d.D) / 256)),
  );
  batch.submit();
  return out;
}
