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
  type HostArray,
  isQuantDType,
  type MatmulManyOptions,
  type MatmulOptions,
  matmulManyComposed,
  type PoolMode,
  type RaggedKV,
  type ReduceOp,
  type RopeStyle,
  type Shape,
  swigluComposed,
  Tensor,
  TensorStateError,
  toStorageArray,
  type UploadData,
} from '@kvsieve/core';
import { type OpEnv, WasmStorage, type WasmTensor } from './env.js';
import { raggedAttentionWasm } from './ops/attention/attention.js';
import { attentionColumnSumsWasm } from './ops/attention-column-sums/attention-column-sums.js';
import { attentionMassWasm } from './ops/attention-mass/attention-mass.js';
import { binaryWasm, scaleWasm, siluMulWasm } from './ops/binary/binary.js';
import { castWasm } from './ops/cast/cast.js';
import { embeddingWasm } from './ops/embedding/embedding.js';
import { matmulWasm } from './ops/matmul/matmul.js';
import { pool1dWasm } from './ops/pool1d/pool1d.js';
import { reduceGroupsWasm, reduceLastWasm } from './ops/reduce/reduce.js';
import { rmsnormWasm } from './ops/rmsnorm/rmsnorm.js';
import { ropeWasm } from './ops/rope/rope.js';
import { gatherRowsWasm, narrowWasm, scatterRowsWasm, transpose01Wasm } from './ops/rows/rows.js';
import { softmaxWasm } from './ops/softmax/softmax.js';
import { topkWasm } from './ops/topk/topk.js';
import type { Dispatcher } from './wasm/dispatch.js';
import type { Allocator } from './wasm/heap.js';
import { type KernelInstance, MAX_PAGES, PAGE_BYTES } from './wasm/instance.js';
import type { Variant } from './wasm/kernels.js';
import { typeCode } from './wasm/types.js';
import { MemoryViews } from './wasm/views.js';

interface Live {
  readonly instance: KernelInstance;
  readonly dispatcher: Dispatcher;
  readonly allocator: Allocator;
  readonly views: MemoryViews;
}

/**
 * Every {@link Backend} op on WebAssembly: tensors live in the module's linear memory (allocated
 * by {@link Allocator}), hot ops are C with SIMD128 (csrc/), cold ones (reductions, top-k, row
 * copies) TypeScript over views of the same memory. Ops run to completion before they return;
 * `read` copies out.
 */
export class WasmBackend implements Backend {
  /** Always `'wasm'`. */
  readonly name = 'wasm';
  /**
   * `shaderF16` is false (f16 and bf16 are storage here, computed in f32); `maxTensorBytes` is the
   * 4 GiB linear memory less the module's own data, shared by every tensor of the backend.
   */
  readonly features: BackendFeatures;
  /** `mt`: the threads module on a shared memory; `st`: the single-threaded module on a plain one. */
  readonly variant: Variant;
  /** Threads the kernels run on: the calling thread and `threads - 1` pool workers. */
  readonly threads: number;
  /** Threads asked for in `createWasmBackend({ threads })` (or its default). */
  readonly requestedThreads: number;
  /** Why `threads` is less than `requestedThreads` (one line), or undefined when it is not. */
  readonly threadsNote: string | undefined;
  private readonly env: OpEnv;
  /** The instance, its memory and allocator; dropped by destroy() so the memory can be collected. */
  private live: Live | undefined;
  private bytes = 0;

  constructor(
    instance: KernelInstance,
    dispatcher: Dispatcher,
    allocator: Allocator,
    requestedThreads: number,
    threadsNote?: string,
  ) {
    this.variant = instance.variant;
    this.threads = dispatcher.threads;
    this.requestedThreads = requestedThreads;
    this.threadsNote = threadsNote;
    this.live = { instance, dispatcher, allocator, views: new MemoryViews(instance.memory) };
    const heapStart = Math.ceil(instance.heapBase / 16) * 16;
    this.features = { shaderF16: false, maxTensorBytes: MAX_PAGES * PAGE_BYTES - heapStart };
    const self = this;
    this.env = {
      get views() {
        return self.state('memory').views;
      },
      out: (shape, dtype, name) => this.alloc(shape, dtype, name),
      ptr: (t, op) => this.storageOf(t, op).ptr,
      type: (t, op) => typeCode(t.dtype, this.state(op).instance.hasQuant, `${op}: ${t.name}`),
      finiteF16: (t, op) => {
        const s = this.storageOf(t, op);
        s.finite ??= this.state(op).instance.f16Finite(s.ptr, t.size) === 1;
        return s.finite;
      },
      alloc: (bytes, what) => this.state(what).allocator.alloc(bytes, what),
      free: (ptr) => this.live?.allocator.free(ptr),
      run: (kernel, args, rows, scratch, work) =>
        this.state(kernel).dispatcher.run(kernel, args, rows, scratch, work),
    };
  }

  private state(op: string): Live {
    if (!this.live) throw new TensorStateError(`${op}: this wasm backend was destroyed`);
    return this.live;
  }

  /** Bytes of the module's memory now (live tensors, free blocks, scratch, the module's own data). */
  memoryBytes(): number {
    return this.state('memoryBytes').instance.memory.buffer.byteLength;
  }

  private storageOf(t: Tensor, op: string): WasmStorage {
    if (!(t.storage instanceof WasmStorage) || t.backend !== this) {
      throw new TensorStateError(
        `${op}: tensor '${t.name}' belongs to backend '${t.backend.name}', not this wasm backend`,
      );
    }
    t.assertLive(op);
    this.state(op);
    return t.storage;
  }

  private alloc(shape: Shape, dtype: DType, name: string): WasmTensor {
    const { allocator } = this.state(name);
    const bytes = byteLengthOf(dtype, shape, name);
    const storage = new WasmStorage(allocator.alloc(bytes, name), bytes);
    this.bytes += bytes;
    return new Tensor(this, storage, dtype, shape, name);
  }

  upload(data: UploadData, shape: Shape, dtype: DType, name = 'upload'): Tensor {
    const array = toStorageArray(data, shape, dtype, name);
    const t = this.alloc(shape, dtype, name);
    this.env.views.u8().set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), t.storage.ptr);
    return t;
  }

  zeros(shape: Shape, dtype: DType, name = 'zeros'): Tensor {
    check.validateZeros(shape, dtype, name);
    const t = this.alloc(shape, dtype, name);
    const { ptr, byteLength } = t.storage;
    this.env.views.u8().fill(0, ptr, ptr + byteLength);
    return t;
  }

  /**
   * Copy `t` out of the module's memory into a fresh array (f16/bf16 decoded and quantized weights
   * dequantized to f32); nothing returned aliases wasm memory. Throws a `TensorStateError` for a
   * disposed tensor, one of another backend, or after {@link WasmBackend.destroy}.
   */
  async read(t: Tensor): Promise<HostArray> {
    t.assertLive('read');
    const { ptr, byteLength } = this.storageOf(t, 'read');
    const mem = this.env.views;
    // Copies (slice) or decodes into fresh arrays: nothing returned aliases the module's memory.
    if (t.dtype === 'f32') return mem.f32(ptr, t.size).slice();
    if (t.dtype === 'i32') return mem.i32(ptr, t.size).slice();
    if (t.dtype === 'u32') return mem.u32(ptr, t.size).slice();
    if (t.dtype === 'f16' || t.dtype === 'bf16') return decodeHalf(mem.u16(ptr, t.size), t.dtype);
    if (isQuantDType(t.dtype)) return dequantize(t.dtype, mem.u8().slice(ptr, ptr + byteLength), t.shape);
    throw new TensorStateError(`read: ${t.name} has dtype ${t.dtype}, which this backend does not store`);
  }

  /**
   * Free `t`'s block of wasm memory for reuse (the memory itself never shrinks; see
   * {@link WasmBackend.memoryBytes}). Disposing twice is a no-op; a tensor of another backend throws a
   * `TensorStateError`.
   */
  dispose(t: Tensor): void {
    if (!(t.storage instanceof WasmStorage) || t.backend !== this) {
      throw new TensorStateError(
        `dispose: tensor '${t.name}' belongs to backend '${t.backend.name}', not this wasm backend`,
      );
    }
    const s = t.storage;
    if (s.disposed) return;
    s.disposed = true;
    this.bytes -= s.byteLength;
    this.live?.allocator.free(s.ptr);
  }

  async sync(): Promise<void> {}

  liveBytes(): number {
    return this.bytes;
  }

  /**
   * Releases the module instance and its memory (collected once nothing else holds them); every
   * later op or read of this backend throws `TensorStateError`.
   */
  destroy(): void {
    this.live?.dispatcher.destroy();
    this.live = undefined;
  }

  matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
    const transposeB = opts.transposeB ?? false;
    const dims = check.validateMatmul(a, b, transposeB, opts.residual);
    const product = matmulWasm(this.env, a, b, dims, transposeB);
    if (!opts.residual) return product;
    // Added in a pass of its own: on the CPU a fused epilogue would save one pass over [M, N] only.
    const sum = binaryWasm(this.env, 'add', opts.residual, product, false);
    product.dispose();
    return sum;
  }

  matmulMany(a: Tensor, bs: readonly Tensor[], opts: MatmulManyOptions = {}): Tensor[] {
    check.validateMatmulMany(a, bs, opts.rmsnorm);
    return matmulManyComposed(this, a, bs, opts);
  }

  swiglu(a: Tensor, gate: Tensor, up: Tensor, opts: MatmulManyOptions = {}): Tensor {
    check.validateSwiglu(a, gate, up, opts.rmsnorm);
    return swigluComposed(this, a, gate, up, opts);
  }

  add(a: Tensor, b: Tensor): Tensor {
    const { broadcast } = check.validateBinary('add', a, b);
    return binaryWasm(this.env, 'add', a, b, broadcast);
  }

  mul(a: Tensor, b: Tensor): Tensor {
    const { broadcast } = check.validateBinary('mul', a, b);
    return binaryWasm(this.env, 'mul', a, b, broadcast);
  }

  scale(a: Tensor, factor: number): Tensor {
    check.validateLastDim('scale', a);
    return scaleWasm(this.env, a, factor);
  }

  rmsnorm(x: Tensor, weight: Tensor, eps: number): Tensor {
    const dims = check.validateRmsnorm(x, weight, eps);
    return rmsnormWasm(this.env, x, weight, eps, dims);
  }

  rope(x: Tensor, positions: Tensor, invFreq: Tensor, style: RopeStyle): Tensor {
    const dims = check.validateRope(x, positions, invFreq);
    return ropeWasm(this.env, x, positions, invFreq, style, dims);
  }

  siluMul(gate: Tensor, up: Tensor): Tensor {
    check.validateSameShape('siluMul', gate, up);
    return siluMulWasm(this.env, gate, up);
  }

  softmax(x: Tensor): Tensor {
    const dims = check.validateLastDim('softmax', x);
    return softmaxWasm(this.env, x, dims);
  }

  embedding(table: Tensor, ids: Tensor): Tensor {
    const dims = check.validateEmbedding(table, ids);
    return embeddingWasm(this.env, table, ids, dims);
  }

  raggedAttention(q: Tensor, kv: RaggedKV, qPositions: Tensor, opts: AttentionOptions = {}): Tensor {
    const dims = check.validateRaggedAttention(q, kv, qPositions);
    const { scale, window } = attentionOptions('raggedAttention', opts, dims.d);
    return raggedAttentionWasm(this.env, q, kv, qPositions, dims, scale, window);
  }

  attentionMass(q: Tensor, kv: RaggedKV, qPositions: Tensor, opts: AttentionOptions = {}): Tensor {
    const dims = check.validateRaggedAttention(q, kv, qPositions, 'attentionMass');
    const { scale, window } = attentionOptions('attentionMass', opts, dims.d);
    return attentionMassWasm(this.env, q, kv, qPositions, dims, scale, window);
  }

  attentionColumnSums(q: Tensor, k: Tensor, opts: AttentionOptions = {}): Tensor {
    const dims = check.validateWindowScores(q, k);
    const { scale, window } = attentionOptions('attentionColumnSums', opts, dims.d);
    return attentionColumnSumsWasm(this.env, q, k, dims, scale, window);
  }

  reduceGroups(x: Tensor, groupSize: number, op: ReduceOp): Tensor {
    const { R, n } = check.validateReduceGroups(x, groupSize, op);
    return reduceGroupsWasm(this.env, x, R, n, groupSize, op);
  }

  reduceLast(x: Tensor, op: ReduceOp): Tensor {
    check.validateReduceOp('reduceLast', op);
    const { rows, n } = check.validateLastDim('reduceLast', x);
    return reduceLastWasm(this.env, x, rows, n, op);
  }

  pool1d(x: Tensor, opts: { kernel: number; mode: PoolMode }): Tensor {
    const { R, n } = check.validatePool(x, opts.kernel, opts.mode);
    return pool1dWasm(this.env, x, R, n, opts.kernel, opts.mode);
  }

  topk(x: Tensor, k: number): Tensor {
    const { R, n } = check.validateTopk(x, k);
    return topkWasm(this.env, x, R, n, k);
  }

  gatherRows(src: Tensor, rows: Tensor): Tensor {
    const dims = check.validateGather(src, rows);
    return gatherRowsWasm(this.env, src, rows, dims);
  }

  scatterRowsMany(dsts: readonly Tensor[], rows: Tensor, srcs: readonly Tensor[]): void {
    check.validateScatterMany(dsts, rows, srcs);
    dsts.forEach((dst, i) => this.scatterRows(dst, rows, srcs[i]!));
  }

  scatterRows(dst: Tensor, rows: Tensor, src: Tensor): void {
    const dims = check.validateScatter(dst, rows, src);
    scatterRowsWasm(this.env, dst, rows, src, dims);
    // New values: a GEMV reading dst as a weight must scan it again.
    this.storageOf(dst, 'scatterRows').finite = undefined;
  }

  narrow(x: Tensor, start: number, length: number): Tensor {
    const { rows, n } = check.validateNarrow(x, start, length);
    return narrowWasm(this.env, x, start, length, rows, n);
  }

  transpose01(x: Tensor): Tensor {
    const dims = check.validateTranspose01(x);
    return transpose01Wasm(this.env, x, dims);
  }

  cast(x: Tensor, dtype: DType): Tensor {
    check.validateCast(x, dtype);
    return castWasm(this.env, x, dtype);
  }
}
