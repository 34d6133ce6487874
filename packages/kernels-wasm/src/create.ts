import { OptionError } from '@kvsieve/core';
import { WasmBackend } from './backend.js';
import { InlineDispatcher } from './wasm/dispatch.js';
import { Allocator } from './wasm/heap.js';
import { instantiateKernels } from './wasm/instance.js';

export interface CreateWasmBackendOptions {
  /**
   * Threads to compute with (a positive integer, default 1). Accepted and reported as
   * `requestedThreads`; this version computes on the calling thread (`threads` is 1).
   */
  readonly threads?: number;
  /**
   * Load the threads module on a shared memory (`true`) or the single-threaded one on a plain
   * memory (`false`). Default: shared where SharedArrayBuffer is usable (Node; pages that are
   * cross-origin isolated), else plain.
   */
  readonly sharedMemory?: boolean;
}

/** Whether this context can share a WebAssembly memory between threads. */
export function sharedMemoryAvailable(): boolean {
  const g = globalThis as { crossOriginIsolated?: boolean };
  return typeof SharedArrayBuffer === 'function' && g.crossOriginIsolated !== false;
}

/**
 * A WebAssembly backend: compiles (once per process or page) and instantiates the package's
 * kernels on a fresh memory. Throws `WasmModuleError` when the module cannot be loaded (build
 * missing, or an engine without WebAssembly SIMD) and `OptionError` for bad options.
 */
export async function createWasmBackend(opts: CreateWasmBackendOptions = {}): Promise<WasmBackend> {
  const threads = opts.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) {
    throw new OptionError(`createWasmBackend: threads must be a positive integer, got ${opts.threads}`);
  }
  const canShare = sharedMemoryAvailable();
  if (opts.sharedMemory === true && !canShare) {
    throw new OptionError(
      'createWasmBackend: sharedMemory: true needs SharedArrayBuffer, which this context lacks (a page must be cross-origin isolated: COOP same-origin and COEP require-corp headers)',
    );
  }
  const instance = await instantiateKernels((opts.sharedMemory ?? canShare) ? 'mt' : 'st');
  const allocator = new Allocator(instance.memory, instance.heapBase);
  return new WasmBackend(instance, new InlineDispatcher(instance.kernels, allocator), allocator, threads);
}
