import { type Backend, CpuBackend } from '@kvsieve/core';
import type { BackendInfo } from './protocol.js';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * The fastest backend this browser gives: WebGPU when navigator.gpu has an adapter, else the
 * WebAssembly kernels, else core's CPU reference. The reason a faster one was not used is kept
 * for the page to show (people should know why they are on the slow path).
 */
export async function pickBackend(
  prefer?: BackendInfo['kind'],
): Promise<{ backend: Backend; info: BackendInfo }> {
  const reasons: string[] = [];
  const gpu = (self.navigator as Navigator & { gpu?: GPU }).gpu;
  if (prefer === 'wasm' || prefer === 'cpu') {
    reasons.push(`backend=${prefer} was asked for in the URL`);
  } else if (!gpu) {
    reasons.push('this browser exposes no WebGPU (navigator.gpu is missing in the worker)');
  } else {
    try {
      const adapter = await gpu.requestAdapter();
      if (!adapter) {
        reasons.push('navigator.gpu gave no adapter (WebGPU disabled or no usable GPU driver)');
      } else {
        const { createWebGpuBackend } = await import('@kvsieve/kernels-webgpu');
        const backend = await createWebGpuBackend({ gpu });
        const i = adapter.info;
        const name =
          [i.vendor, i.architecture, i.device, i.description].filter((x) => x).join(' ') ||
          backend.adapterName;
        return { backend, info: { kind: 'webgpu', name, features: [...adapter.features].sort() } };
      }
    } catch (e) {
      reasons.push(`WebGPU failed: ${message(e)}`);
    }
  }
  if (prefer === 'cpu') return cpu(reasons);
  try {
    // Loaded only here: a page on WebGPU never downloads the WebAssembly kernels.
    const { createWasmBackend } = await import('@kvsieve/kernels-wasm');
    const backend = await createWasmBackend();
    const shared = typeof SharedArrayBuffer !== 'undefined' && self.crossOriginIsolated;
    return {
      backend,
      info: {
        kind: 'wasm',
        name: `WebAssembly SIMD128 (${shared ? 'shared' : 'plain'} memory)`,
        features: ['simd128'],
        reason: reasons.join('; '),
      },
    };
  } catch (e) {
    reasons.push(`WebAssembly kernels failed: ${message(e)}`);
  }
  return cpu(reasons);
}

function cpu(reasons: readonly string[]): { backend: Backend; info: BackendInfo } {
  return {
    backend: new CpuBackend(),
    info: { kind: 'cpu', name: 'CPU reference (JavaScript)', features: [], reason: reasons.join('; ') },
  };
}
