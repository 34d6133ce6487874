import type { QuantLayout } from '@kvsieve/core';
import { ModelFileError } from '../errors.js';
import { showName } from './show.js';

/**
 * NaN and ±Infinity in weights come from corrupt files (a flipped exponent bit) and poison every
 * logit downstream, far from the cause; they are caught once, while the data is on the host.
 */

/** The first element of `a` that is NaN or ±Infinity, or -1. */
export function firstNonFiniteF32(a: Float32Array): number {
  // Eight f32 values summed in f64 cannot overflow, so the sum is non-finite exactly when one of
  // them is; one test per eight values runs about 3× faster than one per value.
  const n = a.length - (a.length % 8);
  for (let i = 0; i < n; i += 8) {
    const s = a[i]! + a[i + 1]! + a[i + 2]! + a[i + 3]! + a[i + 4]! + a[i + 5]! + a[i + 6]! + a[i + 7]!;
    if (s - s !== 0) return firstNonFiniteF32Slow(a, i, i + 8);
  }
  return firstNonFiniteF32Slow(a, n, a.length);
}

function firstNonFiniteF32Slow(a: Float32Array, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    const v = a[i]!;
    // v - v is 0 for every finite v and NaN for NaN and ±Infinity.
    if (v - v !== 0) return i;
  }
  return -1;
}

/** The first raw f16/bf16 value whose exponent bits are all ones (NaN or ±Infinity), or -1. */
export function firstNonFiniteHalf(a: Uint16Array, dtype: 'f16' | 'bf16'): number {
  const exp = dtype === 'f16' ? 0x7c00 : 0x7f80;
  if (a.byteOffset % 4 !== 0) return firstNonFiniteHalfSlow(a, exp, 0, a.length);
  // Two values per u32, shifted right by one so every sum stays a small integer: adding the
  // exponent's lowest bit to the masked exponent carries into bit 14 (and 30) exactly when the
  // exponent is all ones, so sixteen values cost one test.
  const mask = (exp >>> 1) * 0x10001;
  const one = ((exp & -exp) >>> 1) * 0x10001;
  const p = new Uint32Array(a.buffer, a.byteOffset, a.length >> 1);
  const n = p.length - (p.length % 8);
  for (let i = 0; i < n; i += 8) {
    const hit =
      (((p[i]! >>> 1) & mask) + one) |
      (((p[i + 1]! >>> 1) & mask) + one) |
      (((p[i + 2]! >>> 1) & mask) + one) |
      (((p[i + 3]! >>> 1) & mask) + one) |
      (((p[i + 4]! >>> 1) & mask) + one) |
      (((p[i + 5]! >>> 1) & mask) + one) |
      (((p[i + 6]! >>> 1) & mask) + one) |
      (((p[i + 7]! >>> 1) & mask) + one);
    if ((hit & 0x40004000) !== 0) return firstNonFiniteHalfSlow(a, exp, 2 * i, 2 * i + 16);
  }
  return firstNonFiniteHalfSlow(a, exp, 2 * n, a.length);
}

function firstNonFiniteHalfSlow(a: Uint16Array, exp: number, from: number, to: number): number {
  for (let i = from; i < to; i++) if ((a[i]! & exp) === exp) return i;
  return -1;
}

/** What a non-finite raw 16-bit value is: NaN, +Infinity or -Infinity. */
export function halfKind(bits: number, dtype: 'f16' | 'bf16'): string {
  const mantissa = dtype === 'f16' ? 0x03ff : 0x007f;
  if (bits & mantissa) return 'NaN';
  return bits & 0x8000 ? '-Infinity' : '+Infinity';
}

export function nonFiniteError(file: string, tensor: string, what: string, at: string): ModelFileError {
  return new ModelFileError(
    `${file}: tensor ${showName(tensor)} holds ${what} at ${at}; the file is corrupt (re-download or re-convert the model)`,
  );
}

/** Throw a {@link ModelFileError} naming the tensor and file if `data` holds NaN or ±Infinity. */
export function assertFinite(
  data: Float32Array | Uint16Array,
  dtype: 'f32' | 'f16' | 'bf16',
  tensor: string,
  file: string,
): void {
  if (dtype === 'f32') {
    const i = firstNonFiniteF32(data as Float32Array);
    if (i >= 0) {
      const v = data[i]!;
      throw nonFiniteError(
        file,
        tensor,
        Number.isNaN(v) ? 'NaN' : v > 0 ? '+Infinity' : '-Infinity',
        `element ${i}`,
      );
    }
    return;
  }
  const i = firstNonFiniteHalf(data as Uint16Array, dtype);
  if (i >= 0) throw nonFiniteError(file, tensor, halfKind(data[i]!, dtype), `element ${i}`);
}

/**
 * Throw a {@link ModelFileError} naming the tensor, block and field if a quantized tensor's f16
 * scale or min is NaN or ±Infinity. Those fields are the only floats in ggml's blocks (every other
 * bit pattern is a valid weight), so this is the whole finiteness check for quantized data.
 */
export function assertFiniteBlocks(
  bytes: Uint8Array,
  layout: QuantLayout,
  tensor: string,
  file: string,
): void {
  const { blockBytes, blockSize, halfFields, ggmlName } = layout;
  const blocks = bytes.byteLength / blockBytes;
  for (const field of halfFields) {
    for (let b = 0, at = field.offset + 1; b < blocks; b++, at += blockBytes) {
      // The exponent is bits 10–14 of the little-endian f16: bits 2–6 of its high byte.
      if ((bytes[at]! & 0x7c) === 0x7c) {
        const bits = bytes[at - 1]! | (bytes[at]! << 8);
        throw nonFiniteError(
          file,
          tensor,
          halfKind(bits, 'f16'),
          `the ${field.name} of ${ggmlName} block ${b} (element ${b * blockSize})`,
        );
      }
    }
  }
}
