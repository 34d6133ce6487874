export { WebGpuBackend, type WebGpuBackendOptions } from './backend.js';
export { type CreateWebGpuBackendOptions, createWebGpuBackend } from './create.js';
export { BindingLimitError, DeviceLostError, NoAdapterError } from './errors.js';
