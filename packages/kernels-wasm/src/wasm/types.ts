import { type DType, isQuantDType, QUANT_LAYOUTS } from '@kvsieve/core';
import { WasmModuleError } from '../errors.js';

/** Storage codes the kernels take: ggml's type ids (csrc/quant.h), for dense floats too. */
export const F32 = 0;
export const F16 = 1;
export const BF16 = 30;
/** A flag on kv_gemv_bt's type code: its f16 weight holds no Inf or NaN (csrc/kv.h KV_FINITE). */
export const FINITE = 0x100;

/**
 * The kernels' code for a float or quantized dtype. Quantized ones need the row kernels of
 * csrc/quant.c; a module built without them refuses with a {@link WasmModuleError}.
 */
export function typeCode(dtype: DType, hasQuant: boolean, what: string): number {
  if (dtype === 'f32') return F32;
  if (dtype === 'f16') return F16;
  if (dtype === 'bf16') return BF16;
  if (isQuantDType(dtype)) {
    if (!hasQuant) {
      throw new WasmModuleError(
        `${what}: this build of @kvsieve/kernels-wasm has no quantized-weight kernels (csrc/quant.c was not compiled in), so ${dtype} weights cannot be read; rebuild the package with pnpm --filter @kvsieve/kernels-wasm build`,
      );
    }
    return QUANT_LAYOUTS[dtype].ggmlType;
  }
  throw new Error(`kernels-wasm: ${what}: ${dtype} has no storage code (validation should have refused it)`);
}
