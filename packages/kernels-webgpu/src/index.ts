export { WebGpuBackend, type WebGpuBackendOptions } from './backend.js';
export { BindingLimitError, DeviceLostError, NoAdapterError } from './errors.js';
export { createWebGpuBackend, type CreateWebGpuBackendOptions } from './create.js';
