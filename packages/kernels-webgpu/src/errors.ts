import { KvsieveError } from '@kvsieve/core';

/** No WebGPU adapter could be found (no Vulkan driver in Node, or no `navigator.gpu` in a browser). */
export class NoAdapterError extends KvsieveError {
  override name = 'NoAdapterError';
}

/** A tensor is larger than one storage-buffer binding may be on this device. */
export class BindingLimitError extends KvsieveError {
  override name = 'BindingLimitError';
}

/** The GPU device was lost or destroyed: pending and later work fails with this error. */
export class DeviceLostError extends KvsieveError {
  override name = 'DeviceLostError';
}

export const NO_ADAPTER_HELP =
  'In Node, Dawn needs a Vulkan driver: on Debian 12 install Mesa from bookworm-backports ' +
  '(`apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1`; Debian 12’s own Mesa 22 is rejected by Dawn). ' +
  'In a browser, use one with WebGPU enabled (Chromium: --enable-unsafe-webgpu), or pass a GPUDevice as `{ device }`.';
