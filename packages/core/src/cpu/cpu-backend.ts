import { attentionOptions } from '../backend/attention-options.js';
import type {
  AttentionOptions,
  Backend,
  MatmulManyOptions,
  MatmulOptions,
  PoolMode,
  RaggedKV,
  ReduceOp,
  RopeStyle,
  UploadData,
} from '../backend/backend.js';
import { matmulManyComposed, swigluComposed } from '../backend/composed.js';
import { toStorageArray } from '../backend/upload.js';
import * as check from '../backend/validate.js';
import { type DType, isFloatDType } from '../dtype/dtype.js';
import { isQuantDType } from '../dtype/quant.js';
import { ShapeError } from '../errors.js';
import { type Shape, sizeOf } from '../tensor/shape.js';
import { type HostArray, Tensor } from '../tensor/tensor.js';
import { attentionColumnSumsCpu, attentionMassCpu, raggedAttentionCpu } from './ops/attention.js';
import { binaryCpu, matmulCpu } from './ops/linear.js';
import { rmsnormCpu, ropeCpu, siluMulCpu, softmaxRows } from './ops/pointwise.js';
import { pool1dCpu, reduceGroupsCpu, reduceLastCpu, topkCpu } from './ops/selection.js';
import {
  allocate,
  type CpuData,
  CpuStorage,
  type CpuTensor,
  encode,
  floats,
  ints,
  weightRows,
} from './storage.js';

/**
 * The reference backend: plain TypeScript loops written to be read, not to be fast. Every other
 * backend is tested against it. Ops run synchronously; `read()` resolves at once.
 */
export class CpuBackend implements Backend {
  readonly name = 'cpu';
  readonly features = {
    /** No f16 arithmetic: f16 and bf16 storage is decoded to f32 for every op. */
    shaderF16: false,
    /** 2³¹ − 1 bytes, for callers that size chunks by it; the CPU backend does not enforce it. */
    maxTensorBytes: 2 ** 31 - 1,
  };
  private live = new Set<CpuStorage>();

  private make(data: CpuData, shape: Shape, dtype: DType, name: string): Tensor {
    const storage = new CpuStorage(data);
    this.live.add(storage);
    return new Tensor(this, storage, dtype, shape, name);
  }

  private f32(data: Float32Array, shape: Shape, name: string): Tensor {
    return this.make(data, shape, 'f32', name);
  }

  upload(data: UploadData, shape: Shape, dtype: DType, name = 'upload'): Tensor {
    const array = toStorageArray(data, shape, dtype, name);
    // The caller keeps its array: store a copy when no conversion made one already. (A Node Buffer's
    // slice() is a view, so bytes are copied through the Uint8Array constructor.)
    const owned =
      array !== data ? array : array instanceof Uint8Array ? new Uint8Array(array) : array.slice();
    return this.make(owned, shape, dtype, name);
  }

  zeros(shape: Shape, dtype: DType, name = 'zeros'): Tensor {
    check.validateZeros(shape, dtype, name);
    return this.make(allocate(dtype, sizeOf(shape)), shape, dtype, name);
  }

  async read(t: Tensor): Promise<HostArray> {
    t.assertLive('read');
    if (isFloatDType(t.dtype) || isQuantDType(t.dtype)) return Float32Array.from(floats(t));
    return t.dtype === 'i32' ? Int32Array.from(ints(t)) : Uint32Array.from(ints(t));
  }

  dispose(t: Tensor): void {
    const s = (t as CpuTensor).storage;
    if (s.disposed) return;
    s.disposed = true;
    s.data = new Float32Array(0);
    this.live.delete(s);
  }

  async sync(): Promise<void> {}

  liveBytes(): number {
    let n = 0;
    for (const s of this.live) n += s.byteLength;
    return n;
  }

  matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
    const transposeB = opts.transposeB ?? false;
    const { M, K, N } = check.validateMatmul(a, b, transposeB, opts.residual);
    const out = matmulCpu(a, b, M, K, N, transposeB);
    // The product rounded to f32 first, then the sum: exactly matmul followed by add.
    if (opts.residual) {
      const r = floats(opts.residual);
      for (let i = 0; i < out.length; i++) out[i] = r[i]! + out[i]!;
    }
    return this.f32(out, [M, N], 'matmul');
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
    return this.f32(
      binaryCpu(a, b, broadcast, (x, y) => x + y),
      a.shape,
      'add',
    );
  }

  mul(a: Tensor, b: Tensor): Tensor {
    const { broadcast } = check.validateBinary('mul', a, b);
    return this.f32(
      binaryCpu(a, b, broadcast, (x, y) => x * y),
      a.shape,
      'mul',
    );
  }

  scale(a: Tensor, factor: number): Tensor {
    check.validateLastDim('scale', a);
    return this.f32(
      floats(a).map((x) => x * factor),
      a.shape,
      'scale',
    );
  }

  rmsnorm(x: Tensor, weight: Tensor, eps: number): Tensor {
    const { rows, D } = check.validateRmsnorm(x, weight, eps);
    return this.f32(rmsnormCpu(x, weight, eps, rows, D), x.shape, 'rmsnorm');
  }

  rope(x: Tensor, positions: Tensor, invFreq: Tensor, style: RopeStyle): Tensor {
    const dims = check.validateRope(x, positions, invFreq);
    return this.f32(ropeCpu(x, positions, invFreq, style, dims), x.shape, 'rope');
  }

  siluMul(gate: Tensor, up: Tensor): Tensor {
    check.validateSameShape('siluMul', gate, up);
    return this.f32(siluMulCpu(gate, up), gate.shape, 'siluMul');
  }

  softmax(x: Tensor): Tensor {
    const { rows, n } = check.validateLastDim('softmax', x);
    const out = Float32Array.from(floats(x));
    softmaxRows(out, rows, n);
    return this.f32(out, x.shape, 'softmax');
  }

  embedding(table: Tensor, ids: Tensor): Tensor {
    const { vocab, D, n } = check.validateEmbedding(table, ids);
    const idx = ints(ids);
    check.checkRowIndices('embedding', idx, vocab, ids.name);
    const rowOf = weightRows(table, D);
    const out = new Float32Array(n * D);
    for (let i = 0; i < n; i++) out.set(rowOf(idx[i]!), i * D);
    return this.f32(out, [n, D], 'embedding');
  }

  raggedAttention(q: Tensor, kv: RaggedKV, qPositions: Tensor, opts: AttentionOptions = {}): Tensor {
    const dims = check.validateRaggedAttention(q, kv, qPositions);
    const off = ints(kv.offsets);
    const len = ints(kv.lengths);
    for (let h = 0; h < dims.Hkv; h++) {
      if (off[h]! < 0 || len[h]! < 0 || off[h]! + len[h]! > dims.rows) {
        throw new ShapeError(
          `raggedAttention: KV head ${h} spans rows [${off[h]}, ${off[h]! + len[h]!}) outside the cache's ${dims.rows} rows`,
        );
      }
    }
    const { scale, window } = attentionOptions('raggedAttention', opts, dims.d);
    return this.f32(raggedAttentionCpu(q, kv, qPositions, dims, scale, window), q.shape, 'raggedAttention');
  }

  attentionMass(q: Tensor, kv: RaggedKV, qPositions: Tensor, opts: AttentionOptions = {}): Tensor {
    const dims = check.validateRaggedAttention(q, kv, qPositions, 'attentionMass');
    check.checkRaggedSegments('attentionMass', ints(kv.offsets), ints(kv.lengths), dims.rows);
    const { scale, window } = attentionOptions('attentionMass', opts, dims.d);
    return this.f32(attentionMassCpu(q, kv, qPositions, dims, scale, window), [dims.rows], 'attentionMass');
  }

  attentionColumnSums(q: Tensor, k: Tensor, opts: AttentionOptions = {}): Tensor {
    const dims = check.validateWindowScores(q, k);
    const { scale, window } = attentionOptions('attentionColumnSums', opts, dims.d);
    return this.f32(
      attentionColumnSumsCpu(q, k, dims, scale, window),
      [dims.H, dims.L],
      'attentionColumnSums',
    );
  }

  reduceGroups(x: Tensor, groupSize: number, op: ReduceOp): Tensor {
    const { R, n } = check.validateReduceGroups(x, groupSize, op);
    return this.f32(reduceGroupsCpu(x, R, n, groupSize, op), [R / groupSize, n], 'reduceGroups');
  }

  reduceLast(x: Tensor, op: ReduceOp): Tensor {
    check.validateReduceOp('reduceLast', op);
    const { rows, n } = check.validateLastDim('reduceLast', x);
    return this.f32(reduceLastCpu(x, rows, n, op), x.shape.slice(0, -1), 'reduceLast');
  }

  pool1d(x: Tensor, opts: { kernel: number; mode: PoolMode }): Tensor {
    const { R, n } = check.validatePool(x, opts.kernel, opts.mode);
    return this.f32(pool1dCpu(x, R, n, opts.kernel, opts.mode), x.shape, 'pool1d');
  }

  topk(x: Tensor, k: number): Tensor {
    const { R, n } = check.validateTopk(x, k);
    return this.make(topkCpu(x, R, n, k), [R, k], 'i32', 'topk');
  }

  gatherRows(src: Tensor, rows: Tensor): Tensor {
    const { R, width, n } = check.validateGather(src, rows);
    const idx = ints(rows);
    check.checkRowIndices('gatherRows', idx, R, rows.name);
    const data = (src as CpuTensor).storage.data;
    const out = allocate(src.dtype, n * width);
    for (let i = 0; i < n; i++) out.set(data.subarray(idx[i]! * width, (idx[i]! + 1) * width), i * width);
    return this.make(out, [n, ...src.shape.slice(1)], src.dtype, 'gatherRows');
  }

  scatterRowsMany(dsts: readonly Tensor[], rows: Tensor, srcs: readonly Tensor[]): void {
    check.validateScatterMany(dsts, rows, srcs);
    dsts.forEach((dst, i) => this.scatterRows(dst, rows, srcs[i]!));
  }

  scatterRows(dst: Tensor, rows: Tensor, src: Tensor): void {
    const { R, width, n } = check.validateScatter(dst, rows, src);
    const idx = ints(rows);
    check.checkRowIndices('scatterRows', idx, R, rows.name);
    const to = (dst as CpuTensor).storage.data;
    // f32 into an f16/bf16 dst: rounded with cast's codec, so the bits are cast-then-scatter's.
    const from = src.dtype === dst.dtype ? (src as CpuTensor).storage.data : encode(floats(src), dst.dtype);
    for (let i = 0; i < n; i++) to.set(from.subarray(i * width, (i + 1) * width), idx[i]! * width);
  }

  narrow(x: Tensor, start: number, length: number): Tensor {
    const { rows, n } = check.validateNarrow(x, start, length);
    const v = floats(x);
    const out = new Float32Array(rows * length);
    for (let r = 0; r < rows; r++) out.set(v.subarray(r * n + start, r * n + start + length), r * length);
    return this.f32(out, [...x.shape.slice(0, -1), length], 'narrow');
  }

  transpose01(x: Tensor): Tensor {
    const { a, b, c } = check.validateTranspose01(x);
    const data = (x as CpuTensor).storage.data;
    const out = allocate(x.dtype, a * b * c);
    for (let i = 0; i < a; i++) {
      for (let j = 0; j < b; j++)
        out.set(data.subarray((i * b + j) * c, (i * b + j + 1) * c), (j * a + i) * c);
    }
    return this.make(out, [b, a, c], x.dtype, 'transpose01');
  }

  cast(x: Tensor, dtype: DType): Tensor {
    check.validateCast(x, dtype);
    return this.make(encode(Float32Array.from(floats(x)), dtype), x.shape, dtype, 'cast');
  }
}
