import type { DType, Tensor } from '@kvsieve/core';
import type { OpEnv } from '../../env.js';
import { BF16, F16, F32 } from '../../wasm/types.js';

/** Between f32, f16 and bf16, rounding to nearest even bit for bit as core's codecs. Units: elements. */
export function castWasm(env: OpEnv, x: Tensor, dtype: DType): Tensor {
  const to = dtype === 'f32' ? F32 : dtype === 'f16' ? F16 : BF16;
  const out = env.out(x.shape, dtype, 'cast');
  env.run('kv_cast', [env.ptr(x, 'cast'), env.type(x, 'cast'), out.storage.ptr, to], x.size);
  return out;
}
