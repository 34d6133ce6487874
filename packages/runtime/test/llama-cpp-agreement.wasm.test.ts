import type { Backend } from '@kvsieve/core';
import { agreementSuite } from './agreement-suite.js';

// Imported by a computed name, as the WebGPU variant: the runtime itself never imports a backend.
const KERNELS = '@kvsieve/kernels-wasm';

interface WasmModule {
  createWasmBackend(): Promise<Backend & { destroy(): void }>;
}

// The same llama.cpp comparison on the WebAssembly backend (greedy tokens and logits, stories260K).
agreementSuite(
  'wasm',
  async () => ((await import(KERNELS)) as WasmModule).createWasmBackend(),
  (b) => (b as Backend & { destroy(): void }).destroy(),
);
