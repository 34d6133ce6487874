import { DTypeError } from '../errors.js';
import { type Shape, sizeOf } from '../tensor/shape.js';
import { isQuantDType, QUANT_DTYPES, type QuantDType, quantByteLength } from './quant.js';

/**
 * Storage types. Floats are computed in f32; f16 and bf16 are storage formats (weights, caches);
 * the quantized dtypes ({@link QuantDType}) are ggml's block formats, for weights only.
 */
export type DType = DenseDType | QuantDType;
/** Dtypes stored one element after another, a whole number of bytes each. */
export type DenseDType = 'f32' | 'f16' | 'bf16' | 'i32' | 'u32';
/** Float dtypes: computed in f32, stored in 32 or 16 bits. Most ops take f32 inputs; f16/bf16 are storage (weights, caches). */
export type FloatDType = 'f32' | 'f16' | 'bf16';
/** Integer dtypes, for indices and positions (ops that take indices want `i32`). */
export type IntDType = 'i32' | 'u32';

/** Every dtype name kvsieve knows, dense first, then the quantized formats; what {@link assertDTypeName} accepts. */
export const DTYPES: readonly DType[] = ['f32', 'f16', 'bf16', 'i32', 'u32', ...QUANT_DTYPES];

/** Bytes per element of a dense dtype; quantized dtypes store blocks (see {@link byteLengthOf}). */
export function bytesPerElement(dtype: DType): number {
  if (isQuantDType(dtype)) {
    throw new DTypeError(
      `bytesPerElement: ${dtype} stores blocks, not single elements; use byteLengthOf(dtype, shape)`,
    );
  }
  return dtype === 'f16' || dtype === 'bf16' ? 2 : 4;
}

/** Bytes a tensor of `dtype` and `shape` stores (quantized: whole blocks per row, checked). */
export function byteLengthOf(dtype: DType, shape: Shape, what = 'tensor'): number {
  return isQuantDType(dtype) ? quantByteLength(dtype, shape, what) : sizeOf(shape) * bytesPerElement(dtype);
}

/** Whether `dtype` is `f32`, `f16` or `bf16` (quantized dtypes are not: they are weight formats). */
export function isFloatDType(dtype: DType): dtype is FloatDType {
  return dtype === 'f32' || dtype === 'f16' || dtype === 'bf16';
}

/** Throws a `DTypeError` naming `what` unless `value` is one of {@link DTYPES}; narrows `value` to {@link DType}. */
export function assertDTypeName(value: unknown, what: string): asserts value is DType {
  if (typeof value !== 'string' || !(DTYPES as readonly string[]).includes(value)) {
    throw new DTypeError(
      `${what}: unknown dtype ${JSON.stringify(value)}; expected one of ${DTYPES.join(', ')}`,
    );
  }
}

// One shared scratch word: reinterpreting float bits without allocating per element.
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/**
 * IEEE binary16 bits of `value`, rounded to nearest, ties to even, from the value's f32 rounding.
 * Overflow gives ±Inf, NaN stays NaN (quiet), and values below half the smallest subnormal give ±0.
 */
export function f32ToF16Bits(value: number): number {
  scratchF32[0] = value;
  const x = scratchU32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return mant !== 0 ? sign | 0x7e00 | (mant >>> 13) : sign | 0x7c00;
  const e = exp - 127;
  if (e > 15) return sign | 0x7c00;
  if (e >= -14) {
    let h = ((e + 15) << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    // A carry out of the mantissa bumps the exponent, up to 0x7c00 (Inf): exactly IEEE's behaviour.
    if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h += 1;
    return sign | h;
  }
  if (e < -25) return sign;
  // Subnormal half: value = m · 2^-24, so m = (1.mant · 2^23) · 2^(e + 1).
  const full = mant | 0x800000;
  const shift = -1 - e;
  let h = full >>> shift;
  const rem = full & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rem > half || (rem === half && (h & 1) === 1)) h += 1;
  return sign | h;
}

let f16Table: Float32Array | undefined;

/**
 * All 65,536 binary16 values, decoded once on first use (256 KiB): weights and quant block scales
 * are decoded for every matmul, and a lookup is an order of magnitude faster than the arithmetic.
 */
export function f16Values(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = decodeF16(h);
  }
  return f16Table;
}

/** The exact value of IEEE binary16 bits `h`. */
export function f16BitsToF32(h: number): number {
  return (f16Table ?? f16Values())[h & 0xffff]!;
}

function decodeF16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant !== 0 ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** bfloat16 bits of `value`: the top half of its f32 bits, rounded to nearest even; NaN stays quiet NaN. */
export function f32ToBf16Bits(value: number): number {
  scratchF32[0] = value;
  const x = scratchU32[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return ((x >>> 16) | 0x40) & 0xffff;
  const bias = 0x7fff + ((x >>> 16) & 1);
  return ((x + bias) >>> 16) & 0xffff;
}

/** The exact value of bfloat16 bits `b` (only the low 16 bits are read): they are the top half of an f32. */
export function bf16BitsToF32(b: number): number {
  scratchU32[0] = (b & 0xffff) << 16;
  return scratchF32[0]!;
}

/** Encode f32 values to 16-bit storage of `dtype` ('f16' or 'bf16'). */
export function encodeHalf(values: ArrayLike<number>, dtype: 'f16' | 'bf16'): Uint16Array {
  const out = new Uint16Array(values.length);
  const enc = dtype === 'f16' ? f32ToF16Bits : f32ToBf16Bits;
  for (let i = 0; i < values.length; i++) out[i] = enc(values[i]!);
  return out;
}

/** Decode 16-bit storage of `dtype` ('f16' or 'bf16') to f32. */
export function decodeHalf(bits: ArrayLike<number>, dtype: 'f16' | 'bf16'): Float32Array {
  const out = new Float32Array(bits.length);
  const dec = dtype === 'f16' ? f16BitsToF32 : bf16BitsToF32;
  for (let i = 0; i < bits.length; i++) out[i] = dec(bits[i]!);
  return out;
}
