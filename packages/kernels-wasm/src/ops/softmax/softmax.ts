import type { Tensor } from '@kvsieve/core';
import type { OpEnv } from '../../env.js';

/** Softmax over the last dimension, in f32 (a fully masked row gives zeros). Units: rows. */
export function softmaxWasm(env: OpEnv, x: Tensor, dims: { rows: number; n: number }): Tensor {
  const out = env.out(x.shape, 'f32', 'softmax');
  env.run('kv_softmax', [env.ptr(x, 'softmax'), out.storage.ptr, dims.n], dims.rows, 0, 4 * dims.n);
  return out;
}
