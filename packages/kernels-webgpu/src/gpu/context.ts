import { DeviceLostError } from '../errors.js';

// GPUBufferUsage / GPUMapMode values from the WebGPU spec, spelled out so that the package works
// without Dawn's globals being installed on globalThis.
export const USAGE = { MAP_READ: 1, COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128 } as const;
const MAP_MODE_READ = 1;
const STORAGE_USAGE = USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST;
const UNIFORM_USAGE = USAGE.UNIFORM | USAGE.COPY_DST;

export type ScalarType = 'u32' | 'i32' | 'f32';

/** A uniform block: the WGSL struct and a packer built from one field list, so they cannot drift. */
export class Params<F extends string> {
  readonly bytes: number;
  private readonly struct: string;
  constructor(private readonly fields: readonly (readonly [F, ScalarType])[]) {
    const count = Math.max(4, Math.ceil(fields.length / 4) * 4); // uniform structs are 16-byte multiples
    const pad = Array.from({ length: count - fields.length }, (_, i) => `  _pad${i}: u32,`);
    this.struct = `struct Params {\n${fields
      .map(([n, t]) => `  ${n}: ${t},`)
      .concat(pad)
      .join('\n')}\n};\n`;
    this.bytes = count * 4;
  }

  /** The struct and `var<uniform> u` at `binding` (the batch binds uniforms after the storage buffers). */
  decl(binding: number): string {
    return `${this.struct}@group(0) @binding(${binding}) var<uniform> u: Params;\n`;
  }

  pack(values: Record<F, number>): ArrayBuffer {
    const buf = new ArrayBuffer(this.bytes);
    const view = new DataView(buf);
    this.fields.forEach(([name, type], i) => {
      const v = values[name];
      if (type === 'f32') view.setFloat32(i * 4, v, true);
      else if (type === 'i32') view.setInt32(i * 4, v, true);
      else view.setUint32(i * 4, v, true);
    });
    return buf;
  }
}

export interface Binding {
  readonly buffer: GPUBuffer;
  /** Bytes the shader may see; rounded up to 4 here. */
  readonly size: number;
}

export interface KernelSource {
  /** Everything the generated code depends on. */
  readonly key: string;
  readonly code: () => string;
}

function sizeClass(bytes: number): number {
  // Pooled buffers come in classes (1/8 of a power of two) so that slightly different lengths reuse them.
  const b = Math.max(16, Math.ceil(bytes / 4) * 4);
  if (b <= 4096) return Math.ceil(b / 256) * 256;
  const step = 2 ** (Math.floor(Math.log2(b)) - 3);
  return Math.ceil(b / step) * step;
}

/**
 * The device plus what every op needs: a pipeline cache keyed by generated source, a buffer pool,
 * and a batch to encode dispatches. Reusing a released buffer at once is safe because WebGPU
 * executes queue operations (writes, submits) in the order they are issued.
 */
export class GpuContext {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
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

  pipeline(src: KernelSource): GPUComputePipeline {
    let p = this.pipelines.get(src.key);
    if (!p) {
      const module = this.device.createShaderModule({ code: src.code(), label: src.key });
      p = this.device.createComputePipeline({
        layout: 'auto',
        compute: { module, entryPoint: 'main' },
        label: src.key,
      });
      this.pipelines.set(src.key, p);
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

  dispatch(
    src: KernelSource,
    bindings: readonly Binding[],
    uniforms: ArrayBuffer,
    grid: readonly [number, number?, number?],
  ): void {
    const [x, y = 1, z = 1] = grid;
    if (x === 0 || y === 0 || z === 0) return;
    const pipeline = this.ctx.pipeline(src);
    const ubuf = this.ctx.acquire(uniforms.byteLength, 'uniform');
    this.ctx.device.queue.writeBuffer(ubuf, 0, uniforms);
    this.temps.push(ubuf);
    const entries: GPUBindGroupEntry[] = bindings.map((b, i) => ({
      binding: i,
      resource: { buffer: b.buffer, offset: 0, size: Math.max(4, Math.ceil(b.size / 4) * 4) },
    }));
    entries.push({
      binding: bindings.length,
      resource: { buffer: ubuf, offset: 0, size: uniforms.byteLength },
    });
    const group = this.ctx.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
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
