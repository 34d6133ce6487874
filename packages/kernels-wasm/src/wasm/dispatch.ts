import type { Allocator } from './heap.js';
import type { KernelExports, KernelName } from './kernels.js';

/**
 * Where kernels run: the seam between the ops (which say what to compute) and the threads that
 * compute it. `run` computes units [0, rows) of `kernel` (its rows, tokens or heads; see each C
 * kernel) with `args` followed by `r0, r1, scratch`, and returns when all units are done. Units
 * are independent, so an implementation may split [0, rows) into ranges over workers sharing the
 * memory, giving each its own `scratchBytes` of scratch. `unitWork` estimates one unit's cost
 * in element operations (multiply-adds, elements touched), so that a pool keeps small jobs on the
 * calling thread, where waking a worker would cost more than the work (0: never split).
 */
export interface Dispatcher {
  /** Threads computing (1: the calling thread). */
  readonly threads: number;
  /**
   * Compute units `[0, rows)` of `kernel` with `args` (then `r0, r1, scratch`), returning when all are
   * done; `rows ≤ 0` does nothing. `scratchBytes` (default 0) is each part's scratch; `unitWork`
   * (default 0: never split) is one unit's cost in element operations.
   */
  run(
    kernel: KernelName,
    args: readonly number[],
    rows: number,
    scratchBytes?: number,
    unitWork?: number,
  ): void;
  /** Frees the dispatcher's scratch (and, for a pool, stops its workers). */
  destroy(): void;
}

/**
 * Runs every kernel on the calling thread, over all its units in one call. Its scratch region is
 * kept between calls and replaced by a larger one when a call asks for more.
 */
export class InlineDispatcher implements Dispatcher {
  readonly threads = 1;
  private scratch = 0;
  private scratchSize = 0;

  constructor(
    private readonly kernels: KernelExports,
    private readonly allocator: Allocator,
  ) {}

  run(kernel: KernelName, args: readonly number[], rows: number, scratchBytes = 0): void {
    if (rows <= 0) return;
    if (scratchBytes > this.scratchSize) {
      this.allocator.free(this.scratch);
      this.scratch = 0;
      this.scratchSize = 0;
      this.scratch = this.allocator.alloc(scratchBytes, `${kernel} scratch`);
      this.scratchSize = scratchBytes;
    }
    this.kernels[kernel](...args, 0, rows, this.scratch);
  }

  destroy(): void {
    this.allocator.free(this.scratch);
    this.scratch = 0;
    this.scratchSize = 0;
  }
}
