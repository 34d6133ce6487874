export { WasmBackend } from './backend.js';
export { type CreateWasmBackendOptions, createWasmBackend, sharedMemoryAvailable } from './create.js';
export { WasmMemoryError, WasmModuleError } from './errors.js';
export type { Dispatcher } from './wasm/dispatch.js';
export type { Variant } from './wasm/kernels.js';
