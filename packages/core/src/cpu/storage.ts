import { dequantize, dequantizeRow } from '../dtype/dequantize.js';
import { type DType, decodeHalf, encodeHalf, f16Values } from '../dtype/dtype.js';
import { isQuantDType } from '../dtype/quant.js';
import { DTypeError } from '../errors.js';
import type { Tensor, TensorStorage } from '../tensor/tensor.js';

/** A tensor's storage: f32, raw 16-bit floats, indices, or a quantized weight's block bytes. */
export type CpuData = Float32Array | Uint16Array | Int32Array | Uint32Array | Uint8Array;

export class CpuStorage implements TensorStorage {
  disposed = false;
  constructor(public data: CpuData) {}
  get byteLength(): number {
    return this.data.byteLength;
  }
}

export type CpuTensor = Tensor<CpuStorage>;

export function allocate(dtype: DType, size: number): CpuData {
  switch (dtype) {
    case 'f32':
      return new Float32Array(size);
    case 'f16':
    case 'bf16':
      return new Uint16Array(size);
    case 'i32':
      return new Int32Array(size);
    case 'u32':
      return new Uint32Array(size);
    default:
      throw new DTypeError(`allocate: ${dtype} tensors are uploaded as block bytes, never allocated empty`);
  }
}

/**
 * The tensor's values as f32 (decoding f16/bf16 storage, dequantizing blocks; f32 storage is
 * returned without copying). Ops on weights read rows through {@link weightRows} instead.
 */
export function floats(t: Tensor): Float32Array {
  const { data } = (t as CpuTensor).storage;
  if (t.dtype === 'f32') return data as Float32Array;
  if (t.dtype === 'f16' || t.dtype === 'bf16') return decodeHalf(data as Uint16Array, t.dtype);
  if (isQuantDType(t.dtype)) return dequantize(t.dtype, data as Uint8Array, t.shape);
  return Float32Array.from(data);
}

/**
 * Row r of a 2-D weight `[rows, cols]` as f32, one row at a time: f32 rows are views, 16-bit and
 * quantized rows are decoded into one reused `cols`-long buffer (valid until the next call), so a
 * matmul or an embedding never holds an f32 copy of the whole weight.
 */
export function weightRows(t: Tensor, cols: number): (r: number) => Float32Array {
  const { data } = (t as CpuTensor).storage;
  const dtype = t.dtype;
  if (dtype === 'f32') {
    const v = data as Float32Array;
    return (r) => v.subarray(r * cols, (r + 1) * cols);
  }
  const row = new Float32Array(cols);
  if (isQuantDType(dtype)) {
    return (r) => {
      dequantizeRow(dtype, data as Uint8Array, cols, r, row);
      return row;
    };
  }
  const bits = data as Uint16Array;
  if (dtype === 'f16') {
    const table = f16Values();
    return (r) => {
      const at = r * cols;
      for (let i = 0; i < cols; i++) row[i] = table[bits[at + i]!]!;
      return row;
    };
  }
  if (dtype === 'bf16') {
    // bf16 is the top half of an f32: shift the bits into place through an integer view.
    const rowBits = new Uint32Array(row.buffer);
    return (r) => {
      const at = r * cols;
      for (let i = 0; i < cols; i++) rowBits[i] = bits[at + i]! << 16;
      return row;
    };
  }
  throw new DTypeError(`weightRows: ${dtype} is not a float or quantized dtype`);
}

export function ints(t: Tensor): Int32Array | Uint32Array {
  return (t as CpuTensor).storage.data as Int32Array | Uint32Array;
}

/** Store f32 values in `dtype` storage. */
export function encode(values: Float32Array, dtype: DType): CpuData {
  if (dtype === 'f32') return values;
  if (dtype === 'f16' || dtype === 'bf16') return encodeHalf(values, dtype);
  return dtype === 'i32' ? Int32Array.from(values) : Uint32Array.from(values);
}
