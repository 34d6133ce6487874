import type { DType } from '../dtype/dtype.js';
import { isQuantDType } from '../dtype/quant.js';
import { DTypeError, formatShape, ShapeError, TensorStateError } from '../errors.js';
import { resolveShape, type Shape, sizeOf } from './shape.js';

/**
 * What a backend keeps for a tensor's data. Several tensors (reshaped views) may share one storage;
 * disposing any of them releases it for all.
 */
export interface TensorStorage {
  disposed: boolean;
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
  readonly name: string;
  read(t: Tensor): Promise<HostArray>;
  dispose(t: Tensor): void;
}

/**
 * An n-dimensional array owned by a backend. Row-major, contiguous. Data crosses between host
 * and device only through the backend's `upload` and {@link Tensor.read}.
 */
export class Tensor<S extends TensorStorage = TensorStorage> {
  readonly id = nextId++;
  readonly size: number;

  constructor(
    readonly backend: TensorOwner,
    readonly storage: S,
    readonly dtype: DType,
    readonly shape: Shape,
    readonly name = 'tensor',
  ) {
    this.size = sizeOf(shape);
  }

  get rank(): number {
    return this.shape.length;
  }

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

  async readF32(): Promise<Float32Array> {
    const data = await this.read();
    if (!(data instanceof Float32Array))
      throw new DTypeError(`${this.name}: readF32 on a ${this.dtype} tensor`);
    return data;
  }

  async readI32(): Promise<Int32Array> {
    const data = await this.read();
    if (!(data instanceof Int32Array))
      throw new DTypeError(`${this.name}: readI32 on a ${this.dtype} tensor`);
    return data;
  }

  dispose(): void {
    this.backend.dispose(this);
  }

  assertLive(op: string): void {
    if (this.storage.disposed) throw new TensorStateError(`${op}: tensor '${this.name}' was disposed`);
  }

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

export function checkDType(t: Tensor, allowed: readonly DType[], op: string): void {
  if (!allowed.includes(t.dtype)) {
    throw new DTypeError(`${op}: ${t.name} must be ${allowed.join(' or ')}, got ${t.dtype}`);
  }
}
