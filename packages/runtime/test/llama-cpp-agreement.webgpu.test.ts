import type { Backend } from '@kvsieve/core';
import { createWebGpuBackend } from '@kvsieve/kernels-webgpu';
import { agreementSuite } from './agreement-suite.js';

// The same llama.cpp comparison on the WebGPU backend (lavapipe on machines without a GPU).
agreementSuite(
  'webgpu',
  () => createWebGpuBackend(),
  (b: Backend) => (b as unknown as { destroy(): void }).destroy(),
);
