import { WasmModuleError } from '../errors.js';
import { type CompiledModule, wasmApi } from './api.js';
import { KERNELS, type KernelExports, type MemoryLike, QUANT_EXPORTS, type Variant } from './kernels.js';
import { compileKernels } from './load.js';

export const PAGE_BYTES = 65536;
/** All of wasm32: 65,536 pages of 64 KiB. The modules declare this maximum (scripts/build-wasm.mjs). */
export const MAX_PAGES = 65536;
/** The modules' declared initial size (build-wasm.mjs INITIAL_MEMORY, 2 MiB: data and stack). */
export const INITIAL_PAGES = 32;

export interface KernelInstance {
  readonly variant: Variant;
  /** The compiled module (a worker pool instantiates it again on the same memory). */
  readonly module: CompiledModule;
  readonly memory: MemoryLike;
  readonly kernels: KernelExports;
  /** First byte above the module's data and stack: the allocator's region starts here. */
  readonly heapBase: number;
  /** 1 when none of `n` f16 values at `ptr` is Inf or NaN (csrc/common.c kv_f16_finite), else 0. */
  readonly f16Finite: (ptr: number, n: number) => number;
  /** Whether csrc/quant.c was linked in (quantized weights can be read). */
  readonly hasQuant: boolean;
}

/** A fresh instance of the kernels on a fresh memory (shared for `mt`). */
export async function instantiateKernels(variant: Variant): Promise<KernelInstance> {
  const module = await compileKernels(variant);
  const api = wasmApi();
  const memory = new api.Memory({
    initial: INITIAL_PAGES,
    maximum: MAX_PAGES,
    shared: variant === 'mt',
  });
  const instance = await api.instantiate(module, { env: { memory } });
  const exports = instance.exports;
  const missing = [...KERNELS, 'kv_f16_finite'].filter((k) => typeof exports[k] !== 'function');
  if (missing.length > 0) {
    throw new WasmModuleError(
      `kernels-wasm: the built module lacks ${missing.join(', ')}; it is older than this package's sources. Rebuild it: pnpm --filter @kvsieve/kernels-wasm build`,
    );
  }
  const heapBase = (exports.__heap_base as { value?: unknown } | undefined)?.value;
  if (typeof heapBase !== 'number') {
    throw new WasmModuleError('kernels-wasm: the built module does not export __heap_base; rebuild it');
  }
  return {
    variant,
    module,
    memory,
    kernels: exports as unknown as KernelExports,
    f16Finite: exports.kv_f16_finite as (ptr: number, n: number) => number,
    heapBase,
    hasQuant: QUANT_EXPORTS.every((k) => typeof exports[k] === 'function'),
  };
}
