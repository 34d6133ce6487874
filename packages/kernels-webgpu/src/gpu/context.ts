import { DeviceLostError } from '../errors.js';
import { layoutEntries, type Program } from './program.js';

// GPUBufferUsage / GPUMapMode values from the WebGPU spec, spelled out so that the package works
// without Dawn's globals being installed on globalThis.
export const USAGE = { MAP_READ: 1, COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128 } as const;
const MAP_MODE_READ = 1;
const STORAGE_USAGE = USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST;
const UNIFORM_USAGE = USAGE.UNIFORM | USAGE.COPY_DST;

export interface Binding {
  readonly buffer: GPUBuffer;
  /** Bytes the shader may see; rounded up to 4 here. */
  readonly size: number;
}

function sizeClass(bytes: number): number {
  // Pooled buffers come in classes (1/8 of a power of two) so that slightly different lengths reuse them.
  const b = Math.max(16, Math.ceil(bytes / 4) * 4);
  if (b <= 4096) return Math.ceil(b / 256) * 256;
  const step = 2 ** (Math.floor(Math.log2(b)) - 3);
  return Math.ceil(b / step) * step;
}

/**
 * The device plus what every op needs: a pipeline cache keyed by kernel and variant, a buffer pool,
 * and a batch to encode dispatches. Reusing a released buffer at once is safe because WebGPU
 * executes queue operations (writes, submits) in the order they are issued.
 */
export class GpuContext {
  private readonly pipelines = new Map<
    string,
    { program: Program; pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }
  >();
  private readonly free = new Map<number, GPUBuffer[]>();
  private freeBytes = 0;
  private readonly pending = new Set<(err: Error) => void>();
  lostError: DeviceLostError | undefined;
  /** Validation errors the device reported; surfaced by the next read or sync. */
  readonly errors: string[] = [];

  constructor(
    readonly device: GPUDevice,
    readonly maxPoolBytes = 256 * 2 ** 20,
  ) {
    device.lost.then((info) => {
      this.lostError = new DeviceLostError(
        `WebGPU device lost (${info.reason}): ${info.message || 'no message'}. Create a new backend with createWebGpuBackend().`,
      );
      for (const reject of this.pending) reject(this.lostError);
      this.pending.clear();
    });
    device.addEventListener('uncapturederror', (ev) => {
      this.errors.push((ev as GPUUncapturedErrorEvent).error.message);
    });
  }

  get maxWorkgroupsPerDim(): number {
    return this.device.limits.maxComputeWorkgroupsPerDimension;
  }

  assertAlive(op: string): void {
    if (this.lostError) throw new DeviceLostError(`${op}: ${this.lostError.message}`);
  }

  /** The pipeline and bind-group layout of `prog`, compiled on first use and cached by its key. */
  pipeline(prog: Program): { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout } {
    let p = this.pipelines.get(prog.key);
    if (!p) {
      const module = this.device.createShaderModule({ code: prog.code(), label: prog.key });
      const layout = this.device.createBindGroupLayout({ entries: layoutEntries(prog), label: prog.key });
      const pipeline = this.device.createComputePipeline({
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout], label: prog.key }),
        compute: { module, entryPoint: 'main' },
        label: prog.key,
      });
      p = { program: prog, pipeline, layout };
      this.pipelines.set(prog.key, p);
    } else if (p.program !== prog) {
      // kernel() returns one object per key, so another object means two kernels share a name.
      throw new Error(`two kernels share the pipeline key ${prog.key}: give them distinct names`);
    }
    return p;
  }

  get pipelineCount(): number {
    return this.pipelines.size;
  }

  acquire(bytes: number, usage: 'storage' | 'uniform' = 'storage'): GPUBuffer {
    const size = sizeClass(bytes);
    const key = usage === 'storage' ? size : -size;
    const list = this.free.get(key);
    const hit = list?.pop();
    if (hit) {
      this.freeBytes -= size;
      return hit;
    }
    return this.device.createBuffer({ size, usage: usage === 'storage' ? STORAGE_USAGE : UNIFORM_USAGE });
  }

  release(buf: GPUBuffer): void {
    if (this.lostError || this.freeBytes + buf.size > this.maxPoolBytes) {
      buf.destroy();
      return;
    }
    const key = buf.usage & USAGE.UNIFORM ? -buf.size : buf.size;
    const list = this.free.get(key) ?? [];
    list.push(buf);
    this.free.set(key, list);
    this.freeBytes += buf.size;
  }

  batch(): Batch {
    return new Batch(this);
  }

  /** Wait for `promise`, or fail with DeviceLostError if the device goes away first. */
  guard<T>(promise: Promise<T>): Promise<T> {
    if (this.lostError) {
      promise.catch(() => {}); // its own rejection (AbortError) is superseded by ours
      return Promise.reject(this.lostError);
    }
    return new Promise<T>((resolve, reject) => {
      this.pending.add(reject);
      promise.then(
        (v) => {
          this.pending.delete(reject);
          if (this.lostError) reject(this.lostError);
          else resolve(v);
        },
        (e) => {
          this.pending.delete(reject);
          // A destroyed device fails mappings before its lost promise settles: give it a moment so
          // that the caller sees DeviceLostError rather than a bare AbortError.
          const settle = new Promise((r) => setTimeout(r, 50));
          Promise.race([this.device.lost, settle]).then(() => reject(this.lostError ?? e));
        },
      );
    });
  }

  throwIfErrors(op: string): void {
    if (this.errors.length > 0) {
      const msg = this.errors.splice(0).join('\n');
      throw new Error(`${op}: the WebGPU device reported errors (a kvsieve bug; please report it):\n${msg}`);
    }
  }

  /** Copy `bytes` of `src` to the host. */
  async readBytes(src: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    if (this.lostError) throw this.lostError;
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const staging = this.device.createBuffer({ size, usage: USAGE.MAP_READ | USAGE.COPY_DST });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(src, 0, staging, 0, size);
    this.device.queue.submit([enc.finish()]);
    try {
      await this.guard(staging.mapAsync(MAP_MODE_READ));
      return staging.getMappedRange().slice(0, bytes);
    } finally {
      staging.destroy();
    }
  }

  sync(): Promise<void> {
    if (this.lostError) return Promise.reject(this.lostError);
    return this.guard(this.device.queue.onSubmittedWorkDone());
  }
}

/** Dispatches encoded into one command buffer; temporary buffers return to the pool on submit. */
export class Batch {
  private encoder: GPUCommandEncoder;
  private pass: GPUComputePassEncoder;
  private readonly temps: GPUBuffer[] = [];

  constructor(private readonly ctx: GpuContext) {
    this.encoder = ctx.device.createCommandEncoder();
    this.pass = this.encoder.beginComputePass();
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
    for (const name of Object.keys(given)) {
      if (!prog.buffers.some((b) => b.name === name)) {
        throw new Error(`${prog.key}: no buffer named '${name}' is declared`);
      }
    }
    const bound = prog.buffers.map((decl) => {
      const b = given[decl.name];
      if (!b) throw new Error(`${prog.key}: buffer '${decl.name}' was not given`);
      return b;
    });
    const data = prog.params.pack(uniforms);
    const { pipeline, layout } = this.ctx.pipeline(prog);
    const ubuf = this.ctx.acquire(data.byteLength, 'uniform');
    this.ctx.device.queue.writeBuffer(ubuf, 0, data);
    this.temps.push(ubuf);
    const entries: GPUBindGroupEntry[] = bound.map((b, i) => ({
      binding: i,
      resource: { buffer: b.buffer, offset: 0, size: Math.max(4, Math.ceil(b.size / 4) * 4) },
    }));
    entries.push({ binding: bound.length, resource: { buffer: ubuf, offset: 0, size: data.byteLength } });
    const group = this.ctx.device.createBindGroup({ layout, entries });
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, group);
    this.pass.dispatchWorkgroups(x, y, z);
  }

  /** Workgroup grid for `groups` workgroups, folded into y when x would pass the per-dimension limit. */
  grid(groups: number): [number, number] {
    const max = this.ctx.maxWorkgroupsPerDim;
    if (groups <= max) return [groups, 1];
    return [max, Math.ceil(groups / max)];
  }

  submit(): void {
    this.pass.end();
    this.ctx.device.queue.submit([this.encoder.finish()]);
    for (const b of this.temps.splice(0)) this.ctx.release(b);
  }
}
