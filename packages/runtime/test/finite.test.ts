import { encodeHalf } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import { firstNonFiniteF32, firstNonFiniteHalf } from '../src/io/finite.js';

/** The fast scans test eight values at a time: every position of a block and the tail must count. */
describe('non-finite scans', () => {
  const bad = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
  it('f32: finds the first NaN/±Infinity at every position, and none in large finite values', () => {
    for (const n of [1, 7, 8, 9, 31, 64, 67]) {
      const clean = Float32Array.from({ length: n }, (_, i) => (i % 2 ? 3.4e38 : -3.4e38));
      expect(firstNonFiniteF32(clean)).toBe(-1);
      for (let at = 0; at < n; at++) {
        for (const v of bad) {
          const a = Float32Array.from(clean);
          a[at] = v;
          if (at + 1 < n) a[n - 1] = Number.NaN;
          expect(firstNonFiniteF32(a)).toBe(at);
        }
      }
    }
  });

  it('f16 and bf16: finds the first all-ones exponent at every position, odd lengths and offsets too', () => {
    for (const dtype of ['f16', 'bf16'] as const) {
      const max = dtype === 'f16' ? 65504 : 3.38e38;
      for (const n of [1, 2, 7, 15, 16, 17, 33, 47]) {
        const clean = encodeHalf(
          Float32Array.from({ length: n + 1 }, (_, i) => (i % 2 ? max : -max)),
          dtype,
        );
        for (const view of [clean.subarray(0, n), clean.subarray(1, n + 1)]) {
          expect(firstNonFiniteHalf(view, dtype)).toBe(-1);
          for (let at = 0; at < n; at++) {
            for (const v of bad) {
              const a = Uint16Array.from(clean);
              const w = view.byteOffset ? a.subarray(1, n + 1) : a.subarray(0, n);
              w[at] = encodeHalf(new Float32Array([v]), dtype)[0]!;
              expect(firstNonFiniteHalf(w, dtype)).toBe(at);
            }
          }
        }
      }
    }
  });
});
