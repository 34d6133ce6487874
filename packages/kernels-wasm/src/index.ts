export { WasmBackend } from './backend.js';
export {
  type CreateWasmBackendOptions,
  canBlock,
  createWasmBackend,
  defaultThreads,
  MAX_THREADS,
  sharedMemoryAvailable,
} from './create.js';
export { WasmMemoryError, WasmModuleError, WasmWorkerError } from './errors.js';
export type { Dispatcher } from './wasm/dispatch.js';
export type { Variant } from './wasm/kernels.js';
export { MIN_PART_WORK } from './wasm/pool.js';
