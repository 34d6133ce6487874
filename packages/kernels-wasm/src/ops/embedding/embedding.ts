import { validate as check, type Tensor } from '@kvsieve/core';
import type { OpEnv } from '../../env.js';

/** Rows `ids` of `table [vocab, D]` (any weight dtype) as f32 `[n, D]`; ids are range-checked first. */
export function embeddingWasm(
  env: OpEnv,
  table: Tensor,
  ids: Tensor,
  dims: { vocab: number; D: number; n: number },
): Tensor {
  const { vocab, D, n } = dims;
  const idsPtr = env.ptr(ids, 'embedding');
  check.checkRowIndices('embedding', env.views.i32(idsPtr, n), vocab, ids.name);
  const type = env.type(table, 'embedding');
  const out = env.out([n, D], 'f32', 'embedding');
  if (D > 0)
    env.run('kv_embedding', [env.ptr(table, 'embedding'), idsPtr, out.storage.ptr, D, type], n, 0, D);
  return out;
}
