import { conformanceSuite } from '@kvsieve/backend-conformance';
import { createWasmBackend, type WasmBackend } from '../src/index.js';

// The whole shared suite over the worker pool. minThreadWork 0 splits every op that has two or
// more units across all threads, so every kernel runs in parts on workers (the suite's tensors are
// small: with the default threshold most ops would stay on the calling thread).
const destroy = (b: unknown) => (b as WasmBackend).destroy();
conformanceSuite(
  'wasm, 2 threads, every op split',
  () => createWasmBackend({ threads: 2, minThreadWork: 0 }),
  destroy,
);
conformanceSuite(
  'wasm, 4 threads, every op split',
  () => createWasmBackend({ threads: 4, minThreadWork: 0 }),
  destroy,
);
conformanceSuite('wasm, 2 threads, default split', () => createWasmBackend({ threads: 2 }), destroy);
