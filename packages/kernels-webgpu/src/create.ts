import { WebGpuBackend, type WebGpuBackendOptions } from './backend.js';
import { acquireDevice, type DeviceOptions } from './gpu/device.js';

/** Where {@link createWebGpuBackend} gets its device, and how the backend uses it. */
export interface CreateWebGpuBackendOptions extends DeviceOptions, WebGpuBackendOptions {}

/**
 * A WebGPU backend on `opts.device`, on `opts.gpu`, on `navigator.gpu` in a browser, or on Dawn
 * (npm `webgpu`) in Node. Throws {@link NoAdapterError} with install hints when no adapter exists.
 */
export async function createWebGpuBackend(opts: CreateWebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  const { device, adapterName } = await acquireDevice(opts);
  return new WebGpuBackend(device, adapterName, opts);
}
