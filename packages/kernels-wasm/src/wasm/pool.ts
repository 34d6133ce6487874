import { WasmWorkerError } from '../errors.js';
import type { CompiledModule } from './api.js';
import type { Dispatcher } from './dispatch.js';
import type { Allocator } from './heap.js';
import { KERNELS, type KernelExports, type KernelName, type MemoryLike } from './kernels.js';
import { spawnWorker, type WorkerHandle } from './spawn.js';

/**
 * The control block's layout in Int32 words, sent to every worker (src/wasm/worker.js) so this is
 * its only definition. The header and each worker's slot start on 64-byte boundaries, so a
 * worker's writes do not share a cache line with the words the others wait on.
 */
const LAYOUT = {
  GEN: 0, // job generation (bits 8+, bumped once per job) and its PARTS (bits 0-7); workers wait on it
  PENDING: 1, // workers not yet done with the current job; the caller waits on it
  KERNEL: 2, // index into KERNELS
  NARGS: 3,
  ROWS: 4, // units of the job, split evenly over the threads taking part
  SCRATCH: 6, // first thread's scratch; part p's is SCRATCH + p·STRIDE
  STRIDE: 7,
  STOP: 8,
  ARGS: 16, // 32 float64 arguments (any kernel's are exact in a double)
  SLOTS: 80, // per-worker slots from here
  SLOT_INTS: 80,
  ACK: 0, // (in a slot) the last generation this worker picked up
  FAILED: 1,
  ERR_LEN: 2,
  ERR_BYTES: 16, // error text (UTF-8), to the slot's end: 256 bytes
} as const;

/** Most kernel arguments a job can carry (LAYOUT.ARGS holds 32 doubles). */
const MAX_ARGS = 32;
/**
 * Work (the ops' estimate of element operations) below which a job runs inline: waking a worker
 * and waiting for it costs some microseconds, about what the calling thread needs for this much
 * work (measured: bench/pool.bench.ts).
 */
export const MIN_PART_WORK = 1 << 15;
/**
 * A worker that has not picked up a job after this long is taken for dead (a job's other
 * failures are reported by the worker itself); the pool then stops with a WasmWorkerError.
 */
const ACK_TIMEOUT_MS = 10_000;
/** Each worker's stack (the module's own is 1 MiB; kernels keep their data in scratch). */
const STACK_BYTES = 256 * 1024;

export interface PoolOptions {
  /** Threads computing: the caller and `threads - 1` workers. */
  readonly threads: number;
  /** Least work per part of a split (default {@link MIN_PART_WORK}; 0: split whenever possible). */
  readonly minPartWork?: number;
  /** How long a worker may take to pick up a job before it is taken for dead (default 10 s). */
  readonly ackTimeoutMs?: number;
}

/** Publishes a new generation word (only the caller writes it); returns it. */
function nextGeneration(ctl: Int32Array, parts: number): number {
  const gen = (((Atomics.load(ctl, LAYOUT.GEN) >>> 8) + 1) << 8) | parts;
  Atomics.store(ctl, LAYOUT.GEN, gen);
  return gen;
}

/**
 * Runs kernels on the calling thread and `threads - 1` workers over the same shared memory. `run`
 * is synchronous: the caller publishes the job in the control block, wakes the workers
 * (Atomics.notify), computes part 0 itself and waits (Atomics.wait) for the rest. Needs a context
 * where Atomics.wait may block: Node, or a Web Worker (not a page's main thread).
 */
export class PoolDispatcher implements Dispatcher {
  readonly threads: number;
  private readonly ctlPtr: number;
  /** The control block's and the workers' stacks' allocations, freed by destroy(). */
  private readonly regions: number[];
  private scratch = 0;
  private scratchStride = 0;
  private broken: string | undefined;
  private destroyed = false;
  /** The workers, in part order (worker i computes part i + 1). */
  workers: WorkerHandle[] = [];
  private readonly minPartWork: number;
  private readonly ackTimeoutMs: number;

  private constructor(
    private readonly kernels: KernelExports,
    private readonly memory: MemoryLike,
    private readonly allocator: Allocator,
    opts: PoolOptions,
  ) {
    const threads = opts.threads;
    this.threads = threads;
    this.minPartWork = opts.minPartWork ?? MIN_PART_WORK;
    this.ackTimeoutMs = opts.ackTimeoutMs ?? ACK_TIMEOUT_MS;
    const raw = allocator.alloc(4 * (LAYOUT.SLOTS + LAYOUT.SLOT_INTS * threads) + 64, 'worker pool control');
    this.regions = [raw];
    this.ctlPtr = Math.ceil(raw / 64) * 64;
    this.ctl().fill(0);
  }

  /** A pool of `threads` threads (the caller and `threads - 1` workers), started and ready. */
  static async create(
    module: CompiledModule,
    kernels: KernelExports,
    memory: MemoryLike,
    allocator: Allocator,
    opts: PoolOptions,
  ): Promise<PoolDispatcher> {
    const pool = new PoolDispatcher(kernels, memory, allocator, opts);
    try {
      await pool.start(module);
    } catch (e) {
      pool.destroy();
      throw e;
    }
    return pool;
  }

  private ctl(): Int32Array {
    // A view over the memory's buffer as it is now: a shared memory's older buffers stay valid
    // (they keep their length), so any view of the block reads the same words.
    return new Int32Array(this.memory.buffer, this.ctlPtr, LAYOUT.SLOTS + LAYOUT.SLOT_INTS * this.threads);
  }

  private async start(module: CompiledModule): Promise<void> {
    const starting: Promise<void>[] = [];
    for (let index = 0; index < this.threads - 1; index++) {
      const stack = this.allocator.alloc(STACK_BYTES, `worker ${index + 1} stack`);
      this.regions.push(stack);
      const worker = spawnWorker((why) => this.fail(`worker ${index + 1} ${why}`));
      this.workers.push(worker);
      starting.push(
        worker.start({
          module,
          memory: this.memory,
          ctl: this.ctlPtr,
          index,
          stackTop: stack + STACK_BYTES,
          kernels: [...KERNELS],
          layout: LAYOUT,
        }),
      );
    }
    await Promise.all(starting);
  }

  /** Marks the pool unusable (a worker died or failed to start); later runs throw this. */
  private fail(why: string): void {
    if (!this.destroyed) this.broken ??= why;
  }

  run(kernel: KernelName, args: readonly number[], rows: number, scratchBytes = 0, unitWork = 1): void {
    if (rows <= 0) return;
    if (this.broken !== undefined) {
      throw new WasmWorkerError(`${kernel}: the wasm worker pool is stopped: ${this.broken}`);
    }
    const parts = this.parts(rows, unitWork);
    this.ensureScratch(scratchBytes, kernel);
    if (parts === 1) {
      this.kernels[kernel](...args, 0, rows, this.scratch);
      return;
    }
    if (args.length > MAX_ARGS)
      throw new Error(`kernels-wasm: ${kernel} has more than ${MAX_ARGS} arguments`);
    const ctl = this.ctl();
    new Float64Array(ctl.buffer, ctl.byteOffset + LAYOUT.ARGS * 4, args.length).set(args);
    ctl[LAYOUT.KERNEL] = KERNELS.indexOf(kernel);
    ctl[LAYOUT.NARGS] = args.length;
    ctl[LAYOUT.ROWS] = rows;
    ctl[LAYOUT.SCRATCH] = this.scratch;
    ctl[LAYOUT.STRIDE] = this.scratchStride;
    Atomics.store(ctl, LAYOUT.PENDING, parts - 1);
    // The generation's atomic store orders every plain write above before the workers' reads.
    // Its low byte says how many threads take part (the caller, part 0, and workers 1..parts-1).
    const gen = nextGeneration(ctl, parts);
    Atomics.notify(ctl, LAYOUT.GEN);
    let own: unknown;
    try {
      this.kernels[kernel](...args, 0, Math.floor(rows / parts), this.scratch);
    } catch (e) {
      own = e;
    }
    // Always wait, even after our own part failed: the workers are still using the memory.
    this.await(ctl, gen, parts, kernel);
    if (own !== undefined) throw own;
    this.throwWorkerErrors(ctl, parts, kernel);
  }

  /** Threads to split `rows` units over: enough that each gets at least minPartWork of work. */
  private parts(rows: number, unitWork: number): number {
    if (unitWork <= 0) return 1;
    const byWork = this.minPartWork > 0 ? Math.floor((rows * unitWork) / this.minPartWork) : rows;
    return Math.max(1, Math.min(this.threads, rows, byWork));
  }

  private await(ctl: Int32Array, gen: number, parts: number, kernel: KernelName): void {
    // No spinning here either (see worker.js): a futex wake costs ~20 µs, a descheduled spinner more.
    const t0 = performance.now();
    for (;;) {
      const pending = Atomics.load(ctl, LAYOUT.PENDING);
      if (pending === 0) return;
      Atomics.wait(ctl, LAYOUT.PENDING, pending, 1000);
      if (performance.now() - t0 < this.ackTimeoutMs) continue;
      for (let p = 1; p < parts; p++) {
        if (Atomics.load(ctl, LAYOUT.SLOTS + LAYOUT.SLOT_INTS * (p - 1) + LAYOUT.ACK) !== gen) {
          this.broken = `worker ${p} did not pick up ${kernel} within ${this.ackTimeoutMs / 1000} s (it died or its thread is starved)`;
          throw new WasmWorkerError(`${kernel}: the wasm worker pool is stopped: ${this.broken}`);
        }
      }
    }
  }

  private throwWorkerErrors(ctl: Int32Array, parts: number, kernel: KernelName): void {
    for (let p = 1; p < parts; p++) {
      const slot = LAYOUT.SLOTS + LAYOUT.SLOT_INTS * (p - 1);
      if (Atomics.load(ctl, slot + LAYOUT.FAILED) === 0) continue;
      Atomics.store(ctl, slot + LAYOUT.FAILED, 0);
      const len = ctl[slot + LAYOUT.ERR_LEN] ?? 0;
      // Copied out first: TextDecoder refuses views of a SharedArrayBuffer.
      const bytes = new Uint8Array(ctl.buffer, ctl.byteOffset + (slot + LAYOUT.ERR_BYTES) * 4, len).slice();
      throw new WasmWorkerError(`${kernel}: worker ${p} failed: ${new TextDecoder().decode(bytes)}`);
    }
  }

  /**
   * Scratch for every thread at once (one region of `threads` strides, 16-byte aligned), kept
   * between calls and replaced by a larger one when a call asks for more.
   */
  private ensureScratch(bytes: number, kernel: KernelName): void {
    const stride = Math.ceil(bytes / 16) * 16;
    if (stride <= this.scratchStride) return;
    this.allocator.free(this.scratch);
    this.scratch = 0;
    this.scratchStride = 0;
    this.scratch = this.allocator.alloc(stride * this.threads, `${kernel} scratch`);
    this.scratchStride = stride;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.workers.length > 0) {
      const ctl = this.ctl();
      Atomics.store(ctl, LAYOUT.STOP, 1);
      nextGeneration(ctl, 0);
      Atomics.notify(ctl, LAYOUT.GEN);
    }
    for (const w of this.workers) w.terminate();
    this.workers = [];
    this.allocator.free(this.scratch);
    this.scratch = 0;
    for (const r of this.regions) this.allocator.free(r);
    this.regions.length = 0;
  }
}
