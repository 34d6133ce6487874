import { conformanceSuite } from '@kvsieve/backend-conformance';
import { createWasmBackend, type WasmBackend } from '../src/index.js';

// The whole shared suite on both modules: the threads module over a shared memory (what Node
// and cross-origin-isolated pages get) and the single-threaded one over a plain memory.
conformanceSuite(
  'wasm (shared memory)',
  () => createWasmBackend({ sharedMemory: true }),
  (b) => (b as WasmBackend).destroy(),
);
conformanceSuite(
  'wasm (plain memory)',
  () => createWasmBackend({ sharedMemory: false }),
  (b) => (b as WasmBackend).destroy(),
);
