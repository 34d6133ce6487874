import type { DType } from '../dtype/dtype.js';
import { isQuantDType } from '../dtype/quant.js';
import { DTypeError, formatShape, ShapeError, TensorStateError } from '../errors.js';
import { resolveShape, type Shape, sizeOf } from './shape.js';

/**
 * What a backend keeps for a tensor's data. Several tensors (reshaped views) may share one storage;
 * disposing any of them releases it for all.
 */
export interface TensorStorage {
  /** Set by the owning backend when the data is released; every tensor viewing this storage is then dead. */
  disposed: boolean;
  /** Bytes the data occupies on its backend (quantized weights: their block bytes). */
  readonly byteLength: number;
}

/** Host-side copy of a tensor: f32/f16/bf16 and quantized read back as f32, indices as they are. */
export type HostArray = Float32Array | Int32Array | Uint32Array;

let nextId = 1;

/**
 * What a tensor needs of the backend that owns it; every `Backend` is one. Declared here, so that a
 * tensor does not import the backend interface that imports it.
 */
export interface TensorOwner {
  /** The backend's name (`'cpu'`, `'wasm'`, `'webgpu'`), used in error messages. */
  readonly name: string;
  /** Copy `t`'s data to a fresh host array (see {@link Tensor.read}); rejects with a `TensorStateError` if `t` was disposed. */
  read(t: Tensor): Promise<HostArray>;
  /** Release `t`'s storage (and so every view sharing it). Disposing twice is a no-op. */
  dispose(t: Tensor): void;
}

/**
 * An n-dimensional array owned by a backend. Row-major, contiguous. Data crosses between host
 * and device only through the backend's `upload` and {@link Tensor.read}.
 */
export class Tensor<S extends TensorStorage = TensorStorage> {
  /** Unique per process, increasing from 1 in creation order; a reshaped view gets its own id. */
  readonly id = nextId++;
  /** Number of elements: the product of {@link Tensor.shape}. */
  readonly size: number;

  constructor(
    /** The backend that owns the data; only it may read, dispose or compute on this tensor. */
    readonly backend: TensorOwner,
    /** The backend's handle to the data, shared with every reshaped view of this tensor. */
    readonly storage: S,
    /** How each element is stored; see {@link DType}. */
    readonly dtype: DType,
    /** Dimensions, outermost first; the data is row-major and contiguous. */
    readonly shape: Shape,
    /** A label for error messages and debugging (e.g. `'matmul'`, `'layer3.keys'`); not unique. */
    readonly name = 'tensor',
  ) {
    this.size = sizeOf(shape);
  }

  /** Number of dimensions (`shape.length`). */
  get rank(): number {
    return this.shape.length;
  }

  /** Whether the storage was released (by disposing this tensor or any view sharing it). */
  get disposed(): boolean {
    return this.storage.disposed;
  }

  /**
   * A view with another shape over the same storage (one -1 is inferred). Quantized weights keep
   * their `[rows, cols]`: their blocks are laid out along rows.
   */
  reshape(shape: Shape, name = this.name): Tensor<S> {
    this.assertLive('reshape');
    const next = resolveShape(shape, this.size, name);
    if (isQuantDType(this.dtype) && (next.length !== 2 || next[1] !== this.shape[1])) {
      throw new DTypeError(
        `reshape: ${this.name} is a ${this.dtype} weight ${formatShape(this.shape)}; quantized tensors keep their [rows, cols] shape`,
      );
    }
    return new Tensor(this.backend, this.storage, this.dtype, next, name);
  }

  /** Copy the data to the host. Floats come back as f32, quantized weights dequantized to f32. */
  read(): Promise<HostArray> {
    return this.backend.read(this);
  }

  /** {@link Tensor.read} for a float or quantized tensor: rejects with a `DTypeError` if the data comes back as integers. */
  async readF32(): Promise<Float32Array> {
    const data = await this.read();
    if (!(data instanceof Float32Array))
      throw new DTypeError(`${this.name}: readF32 on a ${this.dtype} tensor`);
    return data;
  }

  /** {@link Tensor.read} for an `i32` tensor: rejects with a `DTypeError` for any other dtype (`u32` included). */
  async readI32(): Promise<Int32Array> {
    const data = await this.read();
    if (!(data instanceof Int32Array))
      throw new DTypeError(`${this.name}: readI32 on a ${this.dtype} tensor`);
    return data;
  }

  /**
   * Release the data on the owning backend, for this tensor and every view sharing its storage. The
   * owner of a tensor (whoever created it, unless an API says it takes it) disposes it; disposing
   * twice is a no-op.
   */
  dispose(): void {
    this.backend.dispose(this);
  }

  /** Throws a `TensorStateError` naming `op` if the storage was disposed. */
  assertLive(op: string): void {
    if (this.storage.disposed) throw new TensorStateError(`${op}: tensor '${this.name}' was disposed`);
  }

  /** `Tensor(name, dtype, [shape])`, for logs and messages; never reads the data. */
  toString(): string {
    return `Tensor(${this.name}, ${this.dtype}, ${formatShape(this.shape)})`;
  }
}

/**
 * Check a tensor's rank and dimensions. `expected` holds a number for a fixed dimension, or a string
 * naming a symbolic dimension; symbols bind on first use and must agree afterwards.
 */
export function checkShape(
  t: Tensor,
  expected: readonly (number | string)[],
  op: string,
  dims: Record<string, number> = {},
): Record<string, number> {
  const where = `${op}: ${t.name}`;
  if (t.shape.length !== expected.length) {
    throw new ShapeError(
      `${where} must have rank ${expected.length} [${expected.join(', ')}], got shape ${formatShape(t.shape)}`,
    );
  }
  expected.forEach((e, i) => {
    const actual = t.shape[i]!;
    if (typeof e === 'number') {
      if (actual !== e) {
        throw new ShapeError(
          `${where} dimension ${i} must be ${e}, got ${actual} (shape ${formatShape(t.shape)})`,
        );
      }
    } else if (e in dims) {
      if (dims[e] !== actual) {
        throw new ShapeError(
          `${where} dimension ${i} (${e}) must be ${dims[e]} to match the other inputs, got ${actual} (shape ${formatShape(t.shape)})`,
        );
      }
    } else {
      dims[e] = actual;
    }
  });
  return dims;
}

/** Throws a `DTypeError` naming `op` and `t` unless `t.dtype` is one of `allowed`. */
export function checkDType(t: Tensor, allowed: readonly DType[], op: string): void {
  if (!allowed.includes(t.dtype)) {
    throw new DTypeError(`${op}: ${t.name} must be ${allowed.join(' or ')}, got ${t.dtype}`);
  }
}
