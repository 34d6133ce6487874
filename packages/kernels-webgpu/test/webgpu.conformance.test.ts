import { createWebGpuBackend, type WebGpuBackend } from '../src/index.js';
import { conformanceSuite } from './conformance/index.js';

conformanceSuite(
  'webgpu',
  () => createWebGpuBackend(),
  (b) => (b as WebGpuBackend).destroy(),
);
