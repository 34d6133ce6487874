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
  // What the open pass has set: each native call costs microseconds, and consecutive dispatches of
  // one kernel (the q/k/v projections) need not set its pipeline again.
  private passPipeline: GPUComputePipeline | null = null;
  private passGroup: GPUBindGroup | null = null;
  // The last program's pipeline, looked up again only when the kernel changes.
  private lastProg: Program | null = null;
  private lastPipeline: GPUComputePipeline | null = null;
  private lastLayout: GPUBindGroupLayout | null = null;
  // One dispatch's buffers in binding order, reused: the bind-group cache reads it and keeps nothing.
  private readonly bound: Binding[] = [];
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
    const x = grid[0];
    const y = grid[1] ?? 1;
    const z = grid[2] ?? 1;
    if (x === 0 || y === 0 || z === 0) return;
    const given: Readonly<Record<string, Binding | undefined>> = buffers;
    const decls = prog.buffers;
    const n = decls.length;
    const bound = this.bound;
    for (let i = 0; i < n; i++) {
      const b = given[decls[i]!.name];
      if (!b) throw new Error(`${prog.key}: buffer '${decls[i]!.name}' was not given`);
      bound[i] = b;
    }
    let count = 0;
    for (const _ in given) count++;
    if (count !== n) {
      const extra = Object.keys(given).find((name) => !decls.some((d) => d.name === name));
      throw new Error(`${prog.key}: no buffer named '${extra}' is declared`);
    }
    if (prog !== this.lastProg) {
      const p = this.ctx.pipeline(prog);
      this.lastProg = prog;
      this.lastPipeline = p.pipeline;
      this.lastLayout = p.layout;
    }
    const pipeline = this.lastPipeline!;
    const u = this.ctx.uniforms.slot(prog.params, uniforms);
    const referenced = this.ctx.referenced;
    for (let i = 0; i < n; i++) referenced.add(bound[i]!.buffer);
    const group = this.ctx.bindGroups.get(this.lastLayout!, bound, n, u);
    const timer = this.ctx.timer;
    let pass = this.pass;
    if (timer) {
      this.endPass();
      const timestampWrites = timer.next(prog.key.split('(')[0]!);
      pass = this.begin(timestampWrites ? { timestampWrites } : {});
    } else if (!pass) {
      pass = this.begin();
    }
    if (pipeline !== this.passPipeline) {
      pass.setPipeline(pipeline);
      this.passPipeline = pipeline;
    }
    if (group !== this.passGroup) {
      pass.setBindGroup(0, group);
      this.passGroup = group;
    }
    pass.dispatchWorkgroups(x, y, z);
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

  private begin(desc?: GPUComputePassDescriptor): GPUComputePassEncoder {
    this.passPipeline = null;
    this.passGroup = null;
    this.pass = desc ? this.encoder.beginComputePass(desc) : this.encoder.beginComputePass();
    return this.pass;
  }

  endPass(): void {
    this.pass?.end();
    this.pass = null;
    this.passPipeline = null;
    this.passGroup = null;
  }

  /** Buffers to hand back to the pool once the batch is submitted. */
  takeTemps(): GPUBuffer[] {
    return this.temps.splice(0);
  }
}
