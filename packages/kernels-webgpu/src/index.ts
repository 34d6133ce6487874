// The public types name WebGPU's (GPUDevice, GPU): a consumer's TypeScript gets them from
// @webgpu/types through this reference, kept in the emitted index.d.ts by `preserve`.
/// <reference types="@webgpu/types" preserve="true" />
export { WebGpuBackend, type WebGpuBackendOptions } from './backend.js';
export {
  type CopyBandwidth,
  type CopyBandwidthOptions,
  measureCopyBandwidth,
} from './bench/copy-bandwidth.js';
export { type CreateWebGpuBackendOptions, createWebGpuBackend } from './create.js';
export { BindingLimitError, DeviceLostError, NoAdapterError } from './errors.js';
export { diffCounters, type GpuCounters } from './gpu/counters.js';
export type { KernelTime } from './gpu/profiler.js';
