import type { Backend } from '@kvsieve/core';
import { agreementSuite } from './agreement-suite.js';

// Imported by a computed name so that typechecking the runtime does not pull in the WebGPU package's
// sources (and their @webgpu/types); the runtime itself never imports it.
const KERNELS = '@kvsieve/kernels-webgpu';

interface WebGpuModule {
  createWebGpuBackend(): Promise<Backend & { destroy(): void }>;
}

// The same llama.cpp comparison on the WebGPU backend (lavapipe on machines without a GPU).
agreementSuite(
  'webgpu',
  async () => ((await import(KERNELS)) as WebGpuModule).createWebGpuBackend(),
  (b) => (b as Backend & { destroy(): void }).destroy(),
);
