import { type DType, decodeHalf, encodeHalf } from '../dtype/dtype.js';
import type { Tensor, TensorStorage } from '../tensor/tensor.js';

export type CpuData = Float32Array | Uint16Array | Int32Array | Uint32Array;

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
  }
}

/** The tensor's values as f32 (decoding f16/bf16 storage; f32 storage is returned without copying). */
export function floats(t: Tensor): Float32Array {
  const { data } = (t as CpuTensor).storage;
  if (t.dtype === 'f32') return data as Float32Array;
  if (t.dtype === 'f16' || t.dtype === 'bf16') return decodeHalf(data as Uint16Array, t.dtype);
  return Float32Array.from(data);
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
