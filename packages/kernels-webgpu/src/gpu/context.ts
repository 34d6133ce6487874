import { DeviceLostError } from '../errors.js';
import { Batch } from './batch.js';
import { BindGroupCache } from './bind-groups.js';
import { type GpuCounters, zeroCounters } from './counters.js';
import { KernelTimer } from './profiler.js';
import { layoutEntries, type Program } from './program.js';
import { UniformArena } from './uniforms.js';

// GPUBufferUsage / GPUMapMode values from the WebGPU spec, spelled out so that the package works
// without Dawn's globals being installed on globalThis.
export const USAGE = { MAP_READ: 1, COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128 } as const;
const MAP_MODE_READ = 1;
const STORAGE_USAGE = USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST;

export type { Binding } from './binding.js';

function sizeClass(bytes: number): number {
  // Pooled buffers come in classes (1/8 of a power of two) so that slightly different lengths reuse them.
  const b = Math.max(16, Math.ceil(bytes / 4) * 4);
  if (b <= 4096) return Math.ceil(b / 256) * 256;
  const step = 2 ** (Math.floor(Math.log2(b)) - 3);
  return Math.ceil(b / step) * step;
}

/**
 * The device plus what every op needs: a pipeline cache keyed by kernel and variant, a buffer pool,
 * uniform and bind-group caches, and the one open {@link Batch} that ops record into.
 *
 * Buffers released while the open batch still binds them are kept apart ("dirty") until it is
 * submitted: a kernel may write one at once (the GPU runs the batch in order), but a host write
 * may not, because `queue.writeBuffer` lands before the batch runs.
 */
export class GpuContext {
  private readonly pipelines = new Map<
    string,
    { program: Program; pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }
  >();
  private readonly byProgram = new WeakMap<
    Program,
    { program: Program; pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }
  >();
  private readonly free = new Map<number, GPUBuffer[]>();
  private readonly dirty = new Map<number, GPUBuffer[]>();
  private readonly destroyAfterSubmit: GPUBuffer[] = [];
  private readonly staging = new Map<number, GPUBuffer[]>();
  private freeBytes = 0;
  private open: Batch | null = null;
  private readonly pending = new Set<(err: Error) => void>();
  /** Buffers the open batch binds or copies. */
  readonly referenced = new Set<GPUBuffer>();
  readonly counters: GpuCounters = zeroCounters();
  readonly uniforms: UniformArena;
  readonly bindGroups: BindGroupCache;
  /** Per-kernel GPU timing, while switched on (see {@link setTiming}). */
  timer: KernelTimer | null = null;
  /**
   * The subgroup size when the device has `subgroups` and it is fixed (the adapter's min and max
   * agree: 32 on NVIDIA, 8 on lavapipe), so kernels may size their work by it; else null.
   */
  readonly subgroupSize: number | null;
  /** Read once: `device.limits` is a native getter, and every dispatch's grid asks for this. */
  readonly maxWorkgroupsPerDim: number;
  /** A batch is submitted once it holds this many dispatches, even if nothing is read. */
  maxBatchDispatches = 2048;
  lostError: DeviceLostError | undefined;
  /** Validation errors the device reported; surfaced by the next read or sync. */
  readonly errors: string[] = [];

  constructor(
    readonly device: GPUDevice,
    readonly maxPoolBytes = 256 * 2 ** 20,
    /** The adapter runs shaders on CPU cores (lavapipe, SwiftShader): some kernels pick other shapes. */
    readonly cpuRasterizer = false,
    useSubgroups = false,
  ) {
    const info = (device as { adapterInfo?: { subgroupMinSize?: number; subgroupMaxSize?: number } })
      .adapterInfo;
    const size = info?.subgroupMinSize;
    this.subgroupSize =
      useSubgroups &&
      device.features.has('subgroups') &&
      size &&
      size === info?.subgroupMaxSize &&
      size <= 128
        ? size
        : null;
    this.maxWorkgroupsPerDim = device.limits.maxComputeWorkgroupsPerDimension;
    this.uniforms = new UniformArena(device, this.counters);
    this.bindGroups = new BindGroupCache(device, this.counters);
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

  assertAlive(op: string): void {
    if (this.lostError) throw new DeviceLostError(`${op}: ${this.lostError.message}`);
  }

  /** The pipeline and bind-group layout of `prog`, compiled on first use and cached by its key. */
  pipeline(prog: Program): { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout } {
    // By object first: a decode step looks up hundreds of pipelines, and hashing long keys shows.
    const known = this.byProgram.get(prog);
    if (known) return known;
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
      this.byProgram.set(prog, p);
      this.counters.pipelinesCreated++;
    } else if (p.program !== prog) {
      // kernel() returns one object per key, so another object means two kernels share a name.
      throw new Error(`two kernels share the pipeline key ${prog.key}: give them distinct names`);
    }
    return p;
  }

  get pipelineCount(): number {
    return this.pipelines.size;
  }

  /**
   * A storage buffer for a kernel to write: a dirty one first, so that the clean ones stay for
   * host writes (otherwise every step would use them up and uploads would create buffers).
   */
  acquire(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const hit = this.dirty.get(size)?.pop() ?? this.free.get(size)?.pop();
    if (hit) {
      this.freeBytes -= size;
      return hit;
    }
    return this.create(size);
  }

  /** A storage buffer the host will write: never one the open batch still binds. */
  acquireClean(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const hit = this.free.get(size)?.pop();
    if (hit) {
      this.freeBytes -= size;
      return hit;
    }
    return this.create(size);
  }

  private create(size: number): GPUBuffer {
    this.counters.buffersCreated++;
    return this.device.createBuffer({ size, usage: STORAGE_USAGE });
  }

  release(buf: GPUBuffer): void {
    const inUse = this.referenced.has(buf);
    const size = buf.size; // a native getter: read once
    if (this.lostError || this.freeBytes + size > this.maxPoolBytes) {
      // Destroying a buffer the unsubmitted batch binds would make its submission invalid.
      if (inUse) this.destroyAfterSubmit.push(buf);
      else buf.destroy();
      return;
    }
    const pool = inUse ? this.dirty : this.free;
    const list = pool.get(size) ?? [];
    list.push(buf);
    pool.set(size, list);
    this.freeBytes += size;
  }

  /** The open batch, begun if none is. */
  batch(): Batch {
    this.open ??= new Batch(this);
    return this.open;
  }

  /** Submit the open batch (its uniforms written first); dirty buffers become clean. */
  flush(): void {
    const b = this.open;
    if (!b) return;
    this.open = null;
    b.endPass();
    const afterSubmit = this.timer?.encodeResolve(b.encoder) ?? null;
    this.uniforms.upload();
    this.device.queue.submit([b.encoder.finish()]);
    this.counters.submissions++;
    afterSubmit?.();
    this.referenced.clear();
    for (const t of b.takeTemps()) this.release(t);
    for (const [size, list] of this.dirty) {
      const clean = this.free.get(size) ?? [];
      clean.push(...list);
      // In a fixed order, so that a step that acquires and releases as the last one did gets the
      // same buffers and its bind groups come from the cache.
      clean.sort((a, b) => this.bindGroups.idOf(a) - this.bindGroups.idOf(b));
      this.free.set(size, clean);
    }
    this.dirty.clear();
    for (const buf of this.destroyAfterSubmit.splice(0)) buf.destroy();
  }

  /** Time every kernel from now on (needs the device's `timestamp-query`), or stop timing. */
  setTiming(on: boolean): boolean {
    if (!on) {
      this.flush();
      this.timer?.destroy();
      this.timer = null;
      return false;
    }
    if (!this.device.features.has('timestamp-query')) return false;
    this.flush();
    this.timer ??= new KernelTimer(this.device);
    return true;
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

  /**
   * Copy `bytes` of `src` to the host. The copy joins the open batch, so a step that ends in a
   * read is one submission; the staging buffers are pooled by size.
   */
  async readBytes(src: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    if (this.lostError) throw this.lostError;
    const size = sizeClass(bytes);
    const staging = this.staging.get(size)?.pop() ?? this.createStaging(size);
    this.batch().copy(src, staging, Math.max(4, Math.ceil(bytes / 4) * 4));
    this.flush();
    let mapped = false;
    try {
      await this.guard(staging.mapAsync(MAP_MODE_READ));
      mapped = true;
      const out = staging.getMappedRange().slice(0, bytes);
      this.counters.bytesRead += bytes;
      this.counters.readbacks++;
      return out;
    } finally {
      if (mapped) {
        staging.unmap();
        const list = this.staging.get(size) ?? [];
        if (list.length < 4) list.push(staging);
        else staging.destroy();
        this.staging.set(size, list);
      } else {
        staging.destroy();
      }
    }
  }

  private createStaging(size: number): GPUBuffer {
    this.counters.buffersCreated++;
    return this.device.createBuffer({ size, usage: USAGE.MAP_READ | USAGE.COPY_DST });
  }

  sync(): Promise<void> {
    if (this.lostError) return Promise.reject(this.lostError);
    this.flush();
    return this.guard(this.device.queue.onSubmittedWorkDone());
  }
}

export { Batch };
