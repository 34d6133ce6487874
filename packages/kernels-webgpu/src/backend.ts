import {
  type AttentionOptions,
  attentionOptions,
  type Backend,
  type BackendFeatures,
  byteLengthOf,
  validate as check,
  type DType,
  decodeHalf,
  dequantize,
  formatShape,
  type HostArray,
  isFloatDType,
  isQuantDType,
  type MatmulManyOptions,
  type MatmulOptions,
  matmulManyComposed,
  type PoolMode,
  type RaggedKV,
  type ReduceOp,
  type RopeStyle,
  type Shape,
  ShapeError,
  type StorageArray,
  swigluComposed,
  Tensor,
  TensorStateError,
  toStorageArray,
  type UploadData,
} from '@kvsieve/core';
import { BindingLimitError } from './errors.js';
import { type Binding, GpuContext } from './gpu/context.js';
import type { GpuCounters } from './gpu/counters.js';
import type { KernelTime } from './gpu/profiler.js';
import { GpuStorage, type GpuTensor, type OpEnv, type RowPart, SplitStorage } from './gpu/storage.js';
import { raggedAttentionGpu } from './ops/attention/attention.js';
import { attentionColumnSumsGpu } from './ops/attention-column-sums/attention-column-sums.js';
import { attentionMassGpu } from './ops/attention-mass/attention-mass.js';
import { binaryGpu, scaleGpu, siluMulGpu } from './ops/binary/binary.js';
import { castGpu } from './ops/cast/cast.js';
import { embeddingGpu } from './ops/embedding/embedding.js';
import { matmulGpu, matmulManyGpu, swigluGpu } from './ops/matmul/matmul.js';
import { pool1dGpu } from './ops/pool1d/pool1d.js';
import { reduceGroupsGpu, reduceLastGpu } from './ops/reduce/reduce.js';
import { rmsnormGpu } from './ops/rmsnorm/rmsnorm.js';
import { ropeGpu } from './ops/rope/rope.js';
import { gatherRowsGpu, narrowGpu, scatterRowsGpu, transpose01Gpu } from './ops/rows/rows.js';
import { scatterRowsManyGpu } from './ops/rows/scatter-many.js';
import { softmaxGpu } from './ops/softmax/softmax.js';
import { topkGpu } from './ops/topk/topk.js';

const HOST_INDEX_COPY_LIMIT = 1 << 20;
/** Adapters that run shaders on the CPU, by what their adapter info says of them. */
const CPU_RASTERIZER = /llvmpipe|lavapipe|softpipe|swiftshader|\bwarp\b|software/i;

/** How a {@link WebGpuBackend} uses its device (limits, pool size, kernel shapes, f16 loads). */
export interface WebGpuBackendOptions {
  /** Lower the per-tensor byte limit below the device's binding limit (tests, memory caps). */
  readonly maxTensorBytes?: number;
  /** Bytes of released buffers kept for reuse (default 256 MiB). */
  readonly maxPoolBytes?: number;
  /**
   * Which kernel shapes to use: `gpu` (neighbouring invocations read neighbouring addresses) or
   * `cpu-rasterizer` (shapes that suit an adapter running shaders on CPU cores, such as lavapipe).
   * Default: from the adapter's name.
   */
  readonly tuneFor?: 'gpu' | 'cpu-rasterizer';
  /**
   * Use subgroup operations where the device has `subgroups` with a fixed size (default false): a
   * decode GEMV then reduces each weight row within one subgroup, with no workgroup barrier. Off by
   * default until measured on a GPU: on lavapipe it is slower than the row-per-invocation shape
   * (SmolLM2-135M-shape F32 decode GEMVs: 784 vs 559 ms per token).
   */
  readonly subgroups?: boolean;
  /** Read f16 tensors as native WGSL f16 when the device has `shader-f16` (default true). */
  readonly nativeF16?: boolean;
}

/** Every {@link Backend} op as WGSL compute shaders. Ops enqueue GPU work; only `read` waits. */
export class WebGpuBackend implements Backend {
  readonly name = 'webgpu';
  readonly features: BackendFeatures;
  /**
   * The device context every op records into: pipeline and bind-group caches, the buffer pool and
   * the open command batch. Exposed for kernels written outside this package (see the README).
   */
  readonly ctx: GpuContext;
  private readonly live = new Set<GpuStorage | SplitStorage>();
  private readonly env: OpEnv;

  constructor(
    /** The WebGPU device the kernels run on (owned: {@link destroy} destroys it). */
    readonly device: GPUDevice,
    /** The adapter's vendor, architecture and device, as it reports them (for run summaries). */
    readonly adapterName: string,
    opts: WebGpuBackendOptions = {},
  ) {
    const tuneFor = opts.tuneFor ?? (CPU_RASTERIZER.test(adapterName) ? 'cpu-rasterizer' : 'gpu');
    this.ctx = new GpuContext(
      device,
      opts.maxPoolBytes,
      tuneFor === 'cpu-rasterizer',
      opts.subgroups ?? false,
    );
    const deviceLimit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    this.features = {
      shaderF16: device.features.has('shader-f16'),
      maxTensorBytes: Math.min(deviceLimit, opts.maxTensorBytes ?? deviceLimit),
    };
    const nativeF16 = this.features.shaderF16 && (opts.nativeF16 ?? true);
    this.env = {
      ctx: this.ctx,
      out: (shape, dtype, name) => this.alloc(shape, dtype, name),
      bind: (t, op) => this.storageOf(t, op).binding,
      parts: (t, op) => this.partsOf(t, op),
      kind: (dtype) => (dtype === 'f16' && nativeF16 ? 'f16n' : dtype),
    };
  }

  private owned(t: Tensor, op: string): GpuStorage | SplitStorage {
    if (!(t.storage instanceof GpuStorage || t.storage instanceof SplitStorage) || t.backend !== this) {
      throw new TensorStateError(
        `${op}: tensor '${t.name}' belongs to backend '${t.backend.name}', not this webgpu backend`,
      );
    }
    return t.storage;
  }

  private storageOf(t: Tensor, op: string): GpuStorage {
    const s = this.owned(t, op);
    if (s instanceof SplitStorage) {
      throw new BindingLimitError(
        `${op}: ${t.name} ${formatShape(t.shape)} ${t.dtype} is ${s.byteLength} bytes, more than one binding may hold on this device (${this.features.maxTensorBytes}), so it is kept in ${s.parts.length} row ranges; only matmul (as b, with transposeB) and embedding (as the table) read such a weight`,
      );
    }
    return s;
  }

  private partsOf(t: Tensor, op: string): readonly RowPart[] {
    const s = this.owned(t, op);
    if (s instanceof SplitStorage) return s.parts;
    return [{ binding: s.binding, rowStart: 0, rows: t.shape[0] ?? 1 }];
  }

  /** `clean`: the host will write it, so it must not be a buffer the open batch still binds. */
  private alloc(shape: Shape, dtype: DType, name: string, clean = false): GpuTensor {
    this.ctx.assertAlive(name);
    const bytes = byteLengthOf(dtype, shape, name);
    const limit = this.features.maxTensorBytes;
    if (bytes > limit) {
      throw new BindingLimitError(
        `${name}: tensor ${formatShape(shape)} ${dtype} needs ${bytes} bytes, more than this device's binding limit of ${limit} bytes. ` +
          'Split it (fewer tokens per chunk, fewer rows per call), use a 16-bit dtype for weights, or use a device with a larger maxStorageBufferBindingSize.',
      );
    }
    const storage = new GpuStorage(clean ? this.ctx.acquireClean(bytes) : this.ctx.acquire(bytes), bytes);
    this.live.add(storage);
    return new Tensor(this, storage, dtype, shape, name);
  }

  upload(data: UploadData, shape: Shape, dtype: DType, name = 'upload'): Tensor {
    const bytes = toStorageArray(data, shape, dtype, name);
    const size = byteLengthOf(dtype, shape, `upload ${name}`);
    const weightLike = shape.length === 2 && shape[0]! > 1 && (isFloatDType(dtype) || isQuantDType(dtype));
    if (size > this.features.maxTensorBytes && weightLike)
      return this.uploadSplit(bytes, shape, dtype, name, size);
    const t = this.alloc(shape, dtype, name, true);
    // Small index tensors keep a host copy so gathers can be range-checked without a read-back.
    if (dtype === 'i32' && bytes.length <= HOST_INDEX_COPY_LIMIT) t.storage.host = Int32Array.from(bytes);
    this.writeBytes(t.storage.buffer, bytes);
    return t;
  }

  /**
   * A 2-D weight over the binding limit, as row ranges of at most the limit each (see
   * {@link SplitStorage}); one row over the limit cannot be split and is refused.
   */
  private uploadSplit(data: StorageArray, shape: Shape, dtype: DType, name: string, size: number): Tensor {
    this.ctx.assertAlive(name);
    const rows = shape[0]!;
    const rowBytes = size / rows;
    const limit = this.features.maxTensorBytes;
    const per = Math.floor(limit / rowBytes);
    if (per < 1) {
      throw new BindingLimitError(
        `${name}: one row of ${formatShape(shape)} ${dtype} is ${rowBytes} bytes, more than this device's binding limit of ${limit} bytes; use a device with a larger maxStorageBufferBindingSize`,
      );
    }
    const all = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const parts: RowPart[] = [];
    for (let r0 = 0; r0 < rows; r0 += per) {
      const n = Math.min(per, rows - r0);
      const buffer = this.ctx.acquireClean(n * rowBytes);
      this.writeBytes(buffer, all.subarray(r0 * rowBytes, (r0 + n) * rowBytes));
      parts.push({ binding: { buffer, size: n * rowBytes }, rowStart: r0, rows: n });
    }
    const storage = new SplitStorage(parts);
    this.live.add(storage);
    return new Tensor(this, storage, dtype, shape, name);
  }

  private writeBytes(buffer: GPUBuffer, view: ArrayBufferView): void {
    // writeBuffer needs a multiple of 4 bytes: pad odd-length 16-bit data with one zero element.
    let src = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    if (src.byteLength % 4 !== 0) {
      const padded = new Uint8Array(Math.ceil(src.byteLength / 4) * 4);
      padded.set(src);
      src = padded;
    }
    if (src.byteLength > 0) {
      this.device.queue.writeBuffer(buffer, 0, src);
      this.ctx.counters.bytesWritten += src.byteLength;
    }
  }

  zeros(shape: Shape, dtype: DType, name = 'zeros'): Tensor {
    check.validateZeros(shape, dtype, name);
    const t = this.alloc(shape, dtype, name);
    const batch = this.ctx.batch();
    batch.clear(t.storage.buffer);
    batch.done();
    if (dtype === 'i32' && t.size <= HOST_INDEX_COPY_LIMIT) t.storage.host = new Int32Array(t.size);
    return t;
  }

  async read(t: Tensor): Promise<HostArray> {
    t.assertLive('read');
    const parts = this.partsOf(t, 'read');
    this.ctx.throwIfErrors('read');
    let raw: ArrayBuffer;
    if (parts.length === 1) {
      raw = await this.ctx.readBytes(parts[0]!.binding.buffer, parts[0]!.binding.size);
    } else {
      const all = new Uint8Array(t.storage.byteLength);
      let at = 0;
      for (const p of parts) {
        all.set(new Uint8Array(await this.ctx.readBytes(p.binding.buffer, p.binding.size)), at);
        at += p.binding.size;
      }
      raw = all.buffer;
    }
    this.ctx.throwIfErrors('read');
    if (t.dtype === 'f32') return new Float32Array(raw);
    if (t.dtype === 'f16' || t.dtype === 'bf16') return decodeHalf(new Uint16Array(raw), t.dtype);
    if (isQuantDType(t.dtype)) return dequantize(t.dtype, new Uint8Array(raw), t.shape);
    return t.dtype === 'i32' ? new Int32Array(raw) : new Uint32Array(raw);
  }

  dispose(t: Tensor): void {
    const s = this.owned(t, 'dispose');
    if (s.disposed) return;
    s.disposed = true;
    this.live.delete(s);
    if (s instanceof SplitStorage) {
      for (const p of s.parts) this.ctx.release(p.binding.buffer);
      return;
    }
    s.host = undefined;
    this.ctx.release(s.buffer);
  }

  async sync(): Promise<void> {
    this.ctx.throwIfErrors('sync');
    await this.ctx.sync();
    this.ctx.throwIfErrors('sync');
  }

  liveBytes(): number {
    let n = 0;
    for (const s of this.live) n += s.byteLength;
    return n;
  }

  /**
   * What this backend has asked of the device so far (a copy): submissions, dispatches, bytes
   * written and read back, buffers, bind groups and pipelines created. Take two and subtract
   * ({@link diffCounters}) to see what a stretch of work cost.
   */
  counters(): GpuCounters {
    return { ...this.ctx.counters };
  }

  /** Submit the work recorded so far without waiting for it (reads and `sync` submit anyway). */
  flush(): void {
    this.ctx.flush();
  }

  /**
   * Time every kernel on the GPU from now on (`on`), or stop. Returns false when the device has no
   * `timestamp-query`; while on, each dispatch gets its own compute pass, which costs a little.
   */
  timeKernels(on: boolean): boolean {
    return this.ctx.setTiming(on);
  }

  /** GPU time per kernel since timing was switched on, slowest first (empty when it is off). */
  async kernelTimes(): Promise<KernelTime[]> {
    this.ctx.flush();
    return this.ctx.timer ? this.ctx.timer.report() : [];
  }

  /** Release pooled buffers and destroy the device. Tensors of this backend become unusable. */
  destroy(): void {
    this.device.destroy();
  }

  private host(t: Tensor): Int32Array | undefined {
    return (t.storage as GpuStorage).host;
  }

  private alive(op: string): void {
    this.ctx.assertAlive(op);
  }

  matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
    const transposeB = opts.transposeB ?? false;
    const dims = check.validateMatmul(a, b, transposeB, opts.residual);
    this.alive('matmul');
    return matmulGpu(this.env, a, b, dims, transposeB, opts.residual);
  }

  matmulMany(a: Tensor, bs: readonly Tensor[], opts: MatmulManyOptions = {}): Tensor[] {
    const { M, K, N } = check.validateMatmulMany(a, bs, opts.rmsnorm);
    this.alive('matmulMany');
    // Not one GEMV pass (prefill sizes, mixed or split weights): the same ops one by one.
    return matmulManyGpu(this.env, a, bs, { M, K, N }, opts.rmsnorm) ?? matmulManyComposed(this, a, bs, opts);
  }

  swiglu(a: Tensor, gate: Tensor, up: Tensor, opts: MatmulManyOptions = {}): Tensor {
    const dims = check.validateSwiglu(a, gate, up, opts.rmsnorm);
    this.alive('swiglu');
    return swigluGpu(this.env, a, gate, up, dims, opts.rmsnorm) ?? swigluComposed(this, a, gate, up, opts);
  }

  add(a: Tensor, b: Tensor): Tensor {
    check.validateBinary('add', a, b);
    this.alive('add');
    return binaryGpu(this.env, 'add', a, b);
  }

  mul(a: Tensor, b: Tensor): Tensor {
    check.validateBinary('mul', a, b);
    this.alive('mul');
    return binaryGpu(this.env, 'mul', a, b);
  }

  scale(a: Tensor, factor: number): Tensor {
    check.validateLastDim('scale', a);
    this.alive('scale');
    return scaleGpu(this.env, a, factor);
  }

  rmsnorm(x: Tensor, weight: Tensor, eps: number): Tensor {
    const dims = check.validateRmsnorm(x, weight, eps);
    this.alive('rmsnorm');
    return rmsnormGpu(this.env, x, weight, eps, dims);
  }

  rope(x: Tensor, positions: Tensor, invFreq: Tensor, style: RopeStyle): Tensor {
    const dims = check.validateRope(x, positions, invFreq);
    this.alive('rope');
    return ropeGpu(this.env, x, positions, invFreq, style, dims);
  }

  siluMul(gate: Tensor, up: Tensor): Tensor {
    check.validateSameShape('siluMul', gate, up);
    this.alive('siluMul');
    return siluMulGpu(this.env, gate, up);
  }

  softmax(x: Tensor): Tensor {
    const dims = check.validateLastDim('softmax', x);
    this.alive('softmax');
    return softmaxGpu(this.env, x, dims);
  }

  embedding(table: Tensor, ids: Tensor): Tensor {
    const dims = check.validateEmbedding(table, ids);
    const host = this.host(ids);
    if (host) check.checkRowIndices('embedding', host, dims.vocab, ids.name);
    this.alive('embedding');
    return embeddingGpu(this.env, table, ids, dims);
  }

  raggedAttention(q: Tensor, kv: RaggedKV, qPositions: Tensor, opts: AttentionOptions = {}): Tensor {
    const dims = check.validateRaggedAttention(q, kv, qPositions);
    const off = this.host(kv.offsets);
    const len = this.host(kv.lengths);
    if (off && len) {
      for (let h = 0; h < dims.Hkv; h++) {
        if (off[h]! < 0 || len[h]! < 0 || off[h]! + len[h]! > dims.rows) {
          throw new ShapeError(
            `raggedAttention: KV head ${h} spans rows [${off[h]}, ${off[h]! + len[h]!}) outside the cache's ${dims.rows} rows`,
          );
        }
      }
    }
    this.alive('raggedAttention');
    const { scale, window } = attentionOptions('raggedAttention', opts, dims.d);
    return raggedAttentionGpu(this.env, q, kv, qPositions, dims, scale, window);
  }

  attentionMass(q: Tensor, kv: RaggedKV, qPositions: Tensor, opts: AttentionOptions = {}): Tensor {
    const dims = check.validateRaggedAttention(q, kv, qPositions, 'attentionMass');
    const off = this.host(kv.offsets);
    const len = this.host(kv.lengths);
    if (off && len) check.checkRaggedSegments('attentionMass', off, len, dims.rows);
    this.alive('attentionMass');
    // Nothing to attend with or to: no dispatch over an empty grid or buffer.
    if (dims.n === 0 || dims.rows === 0) return this.zeros([dims.rows], 'f32', 'attentionMass');
    const { scale, window } = attentionOptions('attentionMass', opts, dims.d);
    return attentionMassGpu(this.env, q, kv, qPositions, dims, scale, window);
  }

  attentionColumnSums(q: Tensor, k: Tensor, opts: AttentionOptions = {}): Tensor {
    const dims = check.validateWindowScores(q, k);
    this.alive('attentionColumnSums');
    const { scale, window } = attentionOptions('attentionColumnSums', opts, dims.d);
    return attentionColumnSumsGpu(this.env, q, k, dims, scale, window);
  }

  reduceGroups(x: Tensor, groupSize: number, op: ReduceOp): Tensor {
    const { R, n } = check.validateReduceGroups(x, groupSize, op);
    this.alive('reduceGroups');
    return reduceGroupsGpu(this.env, x, R, n, groupSize, op);
  }

  reduceLast(x: Tensor, op: ReduceOp): Tensor {
    check.validateReduceOp('reduceLast', op);
    const { rows, n } = check.validateLastDim('reduceLast', x);
    this.alive('reduceLast');
    return reduceLastGpu(this.env, x, rows, n, op);
  }

  pool1d(x: Tensor, opts: { kernel: number; mode: PoolMode }): Tensor {
    const { R, n } = check.validatePool(x, opts.kernel, opts.mode);
    this.alive('pool1d');
    return pool1dGpu(this.env, x, R, n, opts.kernel, opts.mode);
  }

  topk(x: Tensor, k: number): Tensor {
    const { R, n } = check.validateTopk(x, k);
    this.alive('topk');
    return topkGpu(this.env, x, R, n, k);
  }

  gatherRows(src: Tensor, rows: Tensor): Tensor {
    const dims = check.validateGather(src, rows);
    const host = this.host(rows);
    if (host) check.checkRowIndices('gatherRows', host, dims.R, rows.name);
    this.alive('gatherRows');
    return gatherRowsGpu(this.env, src, rows, dims);
  }

  scatterRows(dst: Tensor, rows: Tensor, src: Tensor): void {
    const dims = check.validateScatter(dst, rows, src);
    const host = this.host(rows);
    if (host) check.checkRowIndices('scatterRows', host, dims.R, rows.name);
    this.alive('scatterRows');
    scatterRowsGpu(this.env, dst, rows, src, dims);
    this.scattered(dst, src, host, dims);
  }

  scatterRowsMany(dsts: readonly Tensor[], rows: Tensor, srcs: readonly Tensor[]): void {
    const dims = check.validateScatterMany(dsts, rows, srcs);
    const host = this.host(rows);
    if (host) dims.forEach((d) => check.checkRowIndices('scatterRowsMany', host, d.R, rows.name));
    this.alive('scatterRowsMany');
    if (!scatterRowsManyGpu(this.env, dsts, rows, srcs, dims)) {
      dsts.forEach((dst, i) => scatterRowsGpu(this.env, dst, rows, srcs[i]!, dims[i]!));
    }
    dsts.forEach((dst, i) => this.scattered(dst, srcs[i]!, host, dims[i]!));
  }

  /** After a scatter into `dst`: its host copy no longer matches; keep it only if it can be updated exactly. */
  private scattered(
    dst: Tensor,
    src: Tensor,
    rows: Int32Array | undefined,
    dims: { n: number; width: number },
  ) {
    const dstHost = this.host(dst);
    const srcHost = this.host(src);
    if (dstHost && srcHost && rows) {
      for (let i = 0; i < dims.n; i++)
        dstHost.set(srcHost.subarray(i * dims.width, (i + 1) * dims.width), rows[i]! * dims.width);
    } else {
      (dst.storage as GpuStorage).host = undefined;
    }
  }

  narrow(x: Tensor, start: number, length: number): Tensor {
    const { rows, n } = check.validateNarrow(x, start, length);
    this.alive('narrow');
    return narrowGpu(this.env, x, start, length, rows, n);
  }

  transpose01(x: Tensor): Tensor {
    const dims = check.validateTranspose01(x);
    this.alive('transpose01');
    return transpose01Gpu(this.env, x, dims);
  }

  cast(x: Tensor, dtype: DType): Tensor {
    check.validateCast(x, dtype);
    this.alive('cast');
    return castGpu(this.env, x, dtype);
  }

  /** Binding of a tensor (for other packages' kernels that want to share this device). */
  binding(t: Tensor): Binding {
    return this.storageOf(t, 'binding').binding;
  }
}
