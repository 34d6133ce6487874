import type { BindGroupCache } from './bind-groups.js';
import type { Binding } from './binding.js';
import type { GpuCounters } from './counters.js';
import type { KernelTimer } from './profiler.js';
import type { Program } from './program.js';
import type { UniformArena } from './uniforms.js';

/** What a batch uses of its context (GpuContext; named here so the two modules do not import each other). */
export interface BatchContext {
  readonly device: GPUDevice;
  readonly referenced: Set<GPUBuffer>;
  readonly counters: GpuCounters;
  readonly uniforms: UniformArena;
  readonly bindGroups: BindGroupCache;
  readonly timer: KernelTimer | null;
  readonly maxBatchDispatches: number;
  readonly maxWorkgroupsPerDim: number;
  pipeline(prog: Program): { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout };
  acquire(bytes: number): GPUBuffer;
  flush(): void;
}

/**
 * The open command encoder that every op records into. Ops call `ctx.batch()` and record their
 * dispatches; nothing is submitted until the host needs a result (a read or a sync) or the batch
 * grows past its cap, so a whole decode step — every layer's kernels — is one submission. Buffers
 * bound here are noted in the context so that a host write never lands in one the unsubmitted
 * work still reads (see GpuContext.acquireClean).
 */
export class Batch {
  readonly encoder: GPUCommandEncoder;
  private pass: GPUComputePassEncoder | null = null;
  private readonly temps: GPUBuffer[] = [];
  dispatches = 0;

  constructor(private readonly ctx: BatchContext) {
    this.encoder = ctx.device.createCommandEncoder();
  }

  /** A scratch storage buffer that lives until this batch is submitted. */
  scratch(bytes: number): Binding {
    const buffer = this.ctx.acquire(bytes);
    this.temps.push(buffer);
    return { buffer, size: Math.max(4, Math.ceil(bytes / 4) * 4) };
  }

  /** Encode one dispatch of `prog`; its buffers are bound by name, in the order it declares them. */
  dispatch<F extends string, N extends string>(
    prog: Program<F, N>,
    buffers: Readonly<Partial<Record<N, Binding>>>,
    uniforms: Readonly<Record<F, number>>,
    grid: readonly [number, number?, number?],
  ): void {
    const [x, y = 1, z = 1] = grid;
    if (x === 0 || y === 0 || z === 0) return;
    const given: Readonly<Record<string, Binding | undefined>> = buffers;
    const decls = prog.buffers;
    const bound: Binding[] = new Array(decls.length);
    for (let i = 0; i < decls.length; i++) {
      const b = given[decls[i]!.name];
      if (!b) throw new Error(`${prog.key}: buffer '${decls[i]!.name}' was not given`);
      bound[i] = b;
    }
    let count = 0;
    for (const _ in given) count++;
    if (count !== decls.length) {
      const extra = Object.keys(given).find((n) => !decls.some((d) => d.name === n));
      throw new Error(`${prog.key}: no buffer named '${extra}' is declared`);
    }
    const { pipeline, layout } = this.ctx.pipeline(prog);
    const u = this.ctx.uniforms.slot(prog.params, uniforms);
    for (const b of bound) this.ctx.referenced.add(b.buffer);
    const group = this.ctx.bindGroups.get(prog.key, layout, bound, u);
    const timer = this.ctx.timer;
    if (timer) {
      this.endPass();
      const timestampWrites = timer.next(prog.key.split('(')[0]!);
      this.pass = this.encoder.beginComputePass(timestampWrites ? { timestampWrites } : {});
    } else if (!this.pass) {
      this.pass = this.encoder.beginComputePass();
    }
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, group);
    this.pass.dispatchWorkgroups(x, y, z);
    if (timer) this.endPass();
    this.dispatches++;
    this.ctx.counters.dispatches++;
  }

  /** Zero a buffer, in order with the dispatches around it. */
  clear(buffer: GPUBuffer): void {
    this.endPass();
    this.ctx.referenced.add(buffer);
    this.encoder.clearBuffer(buffer);
  }

  /** Copy `size` bytes of `src` into `dst` (a read-back staging buffer), in order. */
  copy(src: GPUBuffer, dst: GPUBuffer, size: number): void {
    this.endPass();
    this.ctx.referenced.add(src);
    this.encoder.copyBufferToBuffer(src, 0, dst, 0, size);
  }

  /** Workgroup grid for `groups` workgroups, folded into y when x would pass the per-dimension limit. */
  grid(groups: number): [number, number] {
    const max = this.ctx.maxWorkgroupsPerDim;
    if (groups <= max) return [groups, 1];
    return [max, Math.ceil(groups / max)];
  }

  /**
   * An op has recorded all its work: submit early only when the batch has grown large. Never
   * mid-op: an op holds its batch across its dispatches.
   */
  done(): void {
    if (this.dispatches >= this.ctx.maxBatchDispatches || this.ctx.timer?.nearlyFull) this.ctx.flush();
  }

  endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /** Buffers to hand back to the pool once the batch is submitted. */
  takeTemps(): GPUBuffer[] {
    return this.temps.splice(0);
  }
}
