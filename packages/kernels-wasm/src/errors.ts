import { KvsieveError } from '@kvsieve/core';

/**
 * The backend's linear memory cannot hold what an upload or op asked for: WebAssembly's 32-bit
 * addresses reach 4 GiB, the tensors, weights and caches of one backend included.
 */
export class WasmMemoryError extends KvsieveError {
  /** Always `'WasmMemoryError'`. */
  override name = 'WasmMemoryError';
}

/**
 * The compiled kernels could not be loaded or lack what was asked of them: the package's wasm
 * build is missing or stale, or the JavaScript engine has no WebAssembly SIMD.
 */
export class WasmModuleError extends KvsieveError {
  /** Always `'WasmModuleError'`. */
  override name = 'WasmModuleError';
}

/**
 * The worker pool of a threaded wasm backend failed: a worker could not start, died, or threw in a
 * kernel. The backend stops taking ops on its pool (each later op throws this); destroy it.
 */
export class WasmWorkerError extends KvsieveError {
  /** Always `'WasmWorkerError'`. */
  override name = 'WasmWorkerError';
}
