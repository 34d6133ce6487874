import { ModelFileError } from '../errors.js';
import { showName } from './show.js';

/**
 * NaN and ±Infinity in weights come from corrupt files (a flipped exponent bit) and poison every
 * logit downstream, far from the cause; they are caught once, while the data is on the host.
 */

/** The first element of `a` that is NaN or ±Infinity, or -1. */
export function firstNonFiniteF32(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    // v - v is 0 for every finite v and NaN for NaN and ±Infinity.
    if (v - v !== 0) return i;
  }
  return -1;
}

/** The first raw f16/bf16 value whose exponent bits are all ones (NaN or ±Infinity), or -1. */
export function firstNonFiniteHalf(a: Uint16Array, dtype: 'f16' | 'bf16'): number {
  const exp = dtype === 'f16' ? 0x7c00 : 0x7f80;
  for (let i = 0; i < a.length; i++) if ((a[i]! & exp) === exp) return i;
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
