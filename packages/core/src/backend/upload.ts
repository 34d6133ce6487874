import { assertDTypeName, type DType, encodeHalf, isFloatDType } from '../dtype/dtype.js';
import { isQuantDType, quantByteLength } from '../dtype/quant.js';
import { DTypeError, formatShape, ShapeError } from '../errors.js';
import { assertValidShape, type Shape, sizeOf } from '../tensor/shape.js';
import type { UploadData } from './backend.js';

/** What a backend stores for a dtype: `Float32Array` (f32), `Uint16Array` (raw f16/bf16 bits), `Int32Array` (i32), `Uint32Array` (u32), `Uint8Array` (quantized block bytes). */
export type StorageArray = Float32Array | Uint16Array | Int32Array | Uint32Array | Uint8Array;

/**
 * Checks `upload` arguments and converts the data to the storage array of `dtype` (f16/bf16 as raw
 * bits, quantized dtypes as their block bytes), shared by every backend so uploads fail and round
 * the same way. May return `data` itself when it already is that array: a backend that keeps it
 * must copy.
 */
export function toStorageArray(data: UploadData, shape: Shape, dtype: DType, name: string): StorageArray {
  assertDTypeName(dtype, `upload ${name}`);
  assertValidShape(shape, `upload ${name}`);
  if (isQuantDType(dtype)) {
    const need = quantByteLength(dtype, shape, `upload ${name}`);
    if (!(data instanceof Uint8Array)) {
      throw new DTypeError(
        `upload ${name}: ${dtype} data is the raw block bytes as a Uint8Array (a GGUF tensor's bytes), not numbers`,
      );
    }
    if (data.byteLength !== need) {
      throw new ShapeError(
        `upload ${name}: a ${dtype} tensor ${formatShape(shape)} is ${need} bytes of blocks, got ${data.byteLength}`,
      );
    }
    return data;
  }
  if (data instanceof Uint8Array) {
    throw new DTypeError(
      `upload ${name}: a Uint8Array holds quantized block bytes, not ${dtype} values; pass a quantized dtype (q4_0, …, q6_k) or a typed array of values`,
    );
  }
  if (data.length !== sizeOf(shape)) {
    throw new ShapeError(
      `upload ${name}: ${data.length} values do not fill shape ${formatShape(shape)} (${sizeOf(shape)})`,
    );
  }
  if (data instanceof Uint16Array) {
    if (dtype !== 'f16' && dtype !== 'bf16') {
      throw new DTypeError(`upload ${name}: Uint16Array holds raw f16/bf16 bits, not ${dtype} values`);
    }
    return data;
  }
  const values = data as ArrayLike<number>;
  if (isFloatDType(dtype)) {
    const f32 = data instanceof Float32Array ? data : Float32Array.from(values);
    return dtype === 'f32' ? f32 : encodeHalf(f32, dtype);
  }
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const ok =
      Number.isInteger(v) && (dtype === 'i32' ? v >= -(2 ** 31) && v < 2 ** 31 : v >= 0 && v < 2 ** 32);
    if (!ok) throw new DTypeError(`upload ${name}: element ${i} = ${v} is not a valid ${dtype}`);
  }
  if (dtype === 'i32') return data instanceof Int32Array ? data : Int32Array.from(values);
  return data instanceof Uint32Array ? data : Uint32Array.from(values);
}
