import type { Tensor } from '@kvsieve/core';
import { input, kernel, output, Params } from '../../gpu/program.js';
import type { OpEnv } from '../../gpu/storage.js';
import { BUILTINS, type ElemKind, WG_INDEX } from '../../gpu/wgsl.js';

const P = new Params([
  ['n', 'u32'],
  ['D', 'u32'],
  ['vocab', 'u32'],
  ['r0', 'u32'],
  ['rows', 'u32'],
  ['first', 'u32'],
] as const);

// One dispatch per row range of the table (one range unless the table was split for being larger
// than a binding): each writes the ids that fall in its rows. An id outside the table (only
// possible for ids computed on the GPU; uploaded ids are checked on the host) gives a zero row,
// written by the first range, instead of reading another row.
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
  if (id < 0 || u32(id) >= u.vocab) {
    if (u.first == 1u) { out[o] = 0.0; }
    return;
  }
  let r = u32(id);
  if (r < u.r0 || r >= u.r0 + u.rows) { return; }
  out[o] = load_table((r - u.r0) * u.D + o % u.D);
}`,
});

export function embeddingGpu(
  env: OpEnv,
  table: Tensor,
  ids: Tensor,
  d: { vocab: number; D: number; n: number },
): Tensor {
  const parts = env.parts(table, 'embedding');
  const out = env.out([d.n, d.D], 'f32', 'embedding');
  const idsBinding = env.bind(ids, 'embedding');
  const batch = env.ctx.batch();
  parts.forEach((p, i) => {
    batch.dispatch(
      EMBEDDING({ table: env.kind(table.dtype) }),
      { table: p.binding, ids: idsBinding, out: out.storage.binding },
      { n: d.n, D: d.D, vocab: d.vocab, r0: p.rowStart, rows: p.rows, first: i === 0 ? 1 : 0 },
      batch.grid(Math.ceil((d.n * d.D) / 256)),
    );
  });
  batch.done();
  return out;
}
