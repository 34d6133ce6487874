import { OptionError } from '@kvsieve/core';
import { WasmBackend } from './backend.js';
import { InlineDispatcher } from './wasm/dispatch.js';
import { Allocator } from './wasm/heap.js';
import { instantiateKernels } from './wasm/instance.js';
import { MIN_PART_WORK, PoolDispatcher } from './wasm/pool.js';

/** Options of {@link createWasmBackend}; all optional, checked there (an `OptionError` for a bad value). */
export interface CreateWasmBackendOptions {
  /**
   * Threads to compute with (a positive integer): the calling thread and `threads - 1` workers
   * over the shared memory. Default: {@link defaultThreads}. The single-threaded module, and a
   * context where Atomics.wait cannot block (a page's main thread), compute on 1 thread and say
   * why in `threadsNote`.
   */
  readonly threads?: number;
  /**
   * Load the threads module on a shared memory (`true`) or the single-threaded one on a plain
   * memory (`false`). Default: shared where SharedArrayBuffer is usable (Node; pages that are
   * cross-origin isolated), else plain.
   */
  readonly sharedMemory?: boolean;
  /**
   * Least work (the ops' estimate, in element operations) worth giving each thread of a split;
   * smaller ops run on the calling thread alone. Default {@link MIN_PART_WORK}, about the cost
   * of waking a worker; 0 splits every op with at least two units (tests use it to run every
   * kernel across threads).
   */
  readonly minThreadWork?: number;
}

/** Most threads a backend starts (more cost memory and start-up, not speed; the pool takes 255). */
export const MAX_THREADS = 64;
/** The default's ceiling: past about 8 threads a decode step is bound by memory bandwidth. */
const DEFAULT_MAX = 8;

/** Whether this context can share a WebAssembly memory between threads. */
export function sharedMemoryAvailable(): boolean {
  const g = globalThis as { crossOriginIsolated?: boolean };
  return typeof SharedArrayBuffer === 'function' && g.crossOriginIsolated !== false;
}

/**
 * Whether this thread may block in Atomics.wait, which a synchronous `run` over workers needs:
 * true in Node and in Web Workers, false on a browser page's main thread (it throws there).
 */
export function canBlock(): boolean {
  if (typeof SharedArrayBuffer !== 'function') return false;
  try {
    // The value differs (0 ≠ 1), so where waiting is allowed this returns at once.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/** The machine's logical cores, as Node or the browser reports them (1 if neither does). */
function cores(): number {
  const g = globalThis as {
    process?: { getBuiltinModule?: (id: 'node:os') => { availableParallelism?(): number } };
    navigator?: { hardwareConcurrency?: number };
  };
  const n =
    g.process?.getBuiltinModule?.('node:os').availableParallelism?.() ?? g.navigator?.hardwareConcurrency;
  return typeof n === 'number' && n >= 1 ? Math.floor(n) : 1;
}

/** The default thread count: the machine's logical cores, at most 8. */
export function defaultThreads(): number {
  return Math.min(cores(), DEFAULT_MAX);
}

/**
 * A WebAssembly backend: compiles (once per process or page) and instantiates the package's
 * kernels on a fresh memory, and starts its worker pool. Throws `WasmModuleError` when the module
 * cannot be loaded (build missing, or an engine without WebAssembly SIMD), `WasmWorkerError` when
 * a worker cannot start, and `OptionError` for bad options.
 */
export async function createWasmBackend(opts: CreateWasmBackendOptions = {}): Promise<WasmBackend> {
  const requested = opts.threads ?? defaultThreads();
  if (!Number.isInteger(requested) || requested < 1) {
    throw new OptionError(`createWasmBackend: threads must be a positive integer, got ${opts.threads}`);
  }
  const minWork = opts.minThreadWork ?? MIN_PART_WORK;
  if (!Number.isFinite(minWork) || minWork < 0) {
    throw new OptionError(
      `createWasmBackend: minThreadWork must be a non-negative number, got ${opts.minThreadWork}`,
    );
  }
  const canShare = sharedMemoryAvailable();
  if (opts.sharedMemory === true && !canShare) {
    throw new OptionError(
      'createWasmBackend: sharedMemory: true needs SharedArrayBuffer, which this context lacks (a page must be cross-origin isolated: COOP same-origin and COEP require-corp headers)',
    );
  }
  const instance = await instantiateKernels((opts.sharedMemory ?? canShare) ? 'mt' : 'st');
  const allocator = new Allocator(instance.memory, instance.heapBase);
  let threads = Math.min(requested, MAX_THREADS);
  let note = requested > MAX_THREADS ? `at most ${MAX_THREADS} threads are started` : undefined;
  if (threads > 1 && instance.variant === 'st') {
    threads = 1;
    note = canShare
      ? 'the single-threaded module was asked for (sharedMemory: false)'
      : 'no SharedArrayBuffer here (a page must be cross-origin isolated), so the single-threaded module runs';
  } else if (threads > 1 && !canBlock()) {
    threads = 1;
    note = 'Atomics.wait cannot block on a browser main thread; run the model in a Web Worker for threads';
  }
  const dispatcher =
    threads > 1
      ? await PoolDispatcher.create(instance.module, instance.kernels, instance.memory, allocator, {
          threads,
          minPartWork: minWork,
        })
      : new InlineDispatcher(instance.kernels, allocator);
  return new WasmBackend(instance, dispatcher, allocator, requested, note);
}
