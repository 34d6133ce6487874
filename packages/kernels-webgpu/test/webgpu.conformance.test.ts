import { conformanceSuite } from '@kvsieve/backend-conformance';
import { createWebGpuBackend, type WebGpuBackend } from '../src/index.js';

conformanceSuite(
  'webgpu',
  () => createWebGpuBackend(),
  (b) => (b as WebGpuBackend).destroy(),
);
