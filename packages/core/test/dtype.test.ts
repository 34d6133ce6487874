import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bf16BitsToF32,
  decodeHalf,
  encodeHalf,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
} from '../src/index.js';

// Independent oracle for binary16: enumerate all 65,536 bit patterns, decode them exactly, and find the
// nearest representable value (ties to even mantissa) by comparison, not by bit manipulation.
const allHalves = Array.from({ length: 0x7c00 }, (_, h) => f16BitsToF32(h)); // non-negative finite, ascending

function nearestHalfBits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  const max = allHalves[0x7bff]!;
  // Values at or beyond max + half an ulp (65520) overflow to infinity.
  if (a >= 65520) return sign | 0x7c00;
  if (a > max) return sign | 0x7bff;
  let lo = 0;
  let hi = allHalves.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (allHalves[mid]! <= a) lo = mid;
    else hi = mid;
  }
  const dl = a - allHalves[lo]!;
  const dh = allHalves[hi]! - a;
  if (dl < dh) return sign | lo;
  if (dh < dl) return sign | hi;
  return sign | (lo % 2 === 0 ? lo : hi);
}

describe('f16', () => {
  it('round-trips every binary16 bit pattern exactly', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = f16BitsToF32(h);
      if (Number.isNaN(v)) {
        expect((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0).toBe(true);
        expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(v)))).toBe(true);
      } else {
        expect(f32ToF16Bits(v)).toBe(h);
      }
    }
  });

  it('handles the special values', () => {
    expect(f32ToF16Bits(Number.POSITIVE_INFINITY)).toBe(0x7c00);
    expect(f32ToF16Bits(Number.NEGATIVE_INFINITY)).toBe(0xfc00);
    expect(f32ToF16Bits(-0)).toBe(0x8000);
    expect(f32ToF16Bits(65504)).toBe(0x7bff);
    expect(f32ToF16Bits(65519.99)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // the tie between max and "2^16" rounds to even: infinity
    expect(f32ToF16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(f32ToF16Bits(2 ** -25)).toBe(0x0000); // exactly half of it: ties to even, zero
    expect(f32ToF16Bits(2 ** -25 * 1.0001)).toBe(0x0001);
    expect(f32ToF16Bits(3 * 2 ** -25)).toBe(0x0002); // 1.5 ulp: tie to even (2)
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // halfway between 1 and next: even is 1
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(Number.NaN)))).toBe(true);
  });

  it('rounds any f32 to the nearest half, ties to even', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true }), (x) => {
        expect(f32ToF16Bits(x)).toBe(nearestHalfBits(Math.fround(x)));
      }),
      { numRuns: 20000 },
    );
    // Values clustered around the subnormal/normal boundary and the overflow threshold.
    fc.assert(
      fc.property(
        fc.double({ min: -70000, max: 70000, noNaN: true }),
        fc.integer({ min: -30, max: 0 }),
        (x, e) => {
          const v = Math.fround(x * 2 ** e);
          expect(f32ToF16Bits(v)).toBe(nearestHalfBits(v));
        },
      ),
      { numRuns: 20000 },
    );
  });

  it('encodes and decodes arrays', () => {
    const values = new Float32Array([0, 1, -2.5, 1e-8, 70000, Number.NaN]);
    const back = decodeHalf(encodeHalf(values, 'f16'), 'f16');
    expect(Array.from(back.slice(0, 4))).toEqual([0, 1, -2.5, 0]);
    expect(back[4]).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isNaN(back[5])).toBe(true);
  });
});

describe('bf16', () => {
  it('round-trips every non-NaN bfloat16 pattern', () => {
    for (let b = 0; b < 0x10000; b++) {
      const v = bf16BitsToF32(b);
      if (Number.isNaN(v)) expect(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(v)))).toBe(true);
      else expect(f32ToBf16Bits(v)).toBe(b);
    }
  });

  it('rounds to nearest even, independent check via neighbours', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const v = Math.fround(x);
        const b = f32ToBf16Bits(v);
        const got = bf16BitsToF32(b);
        if (!Number.isFinite(got)) {
          // Overflow only for values past the largest bf16 plus half an ulp.
          expect(Math.abs(v)).toBeGreaterThanOrEqual(bf16BitsToF32(0x7f7f) + 2 ** (127 - 8));
          return;
        }
        // Neighbours of the same sign: one bit pattern down and up in magnitude.
        const sign = b & 0x8000;
        const mag = b & 0x7fff;
        const down = bf16BitsToF32(sign | Math.max(0, mag - 1));
        const up = bf16BitsToF32(sign | (mag + 1));
        // No neighbour is strictly closer.
        expect(Math.abs(got - v)).toBeLessThanOrEqual(Math.abs(down - v));
        if (Number.isFinite(up)) expect(Math.abs(got - v)).toBeLessThanOrEqual(Math.abs(up - v));
      }),
      { numRuns: 20000 },
    );
    expect(f32ToBf16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie → even
    expect(f32ToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(f32ToBf16Bits(Number.NEGATIVE_INFINITY)).toBe(0xff80);
    expect(f32ToBf16Bits(3.4028234663852886e38)).toBe(0x7f80); // f32 max rounds up to infinity
    expect(f32ToBf16Bits(1e-40)).toBe(f32ToBf16Bits(Math.fround(1e-40))); // subnormals are kept
    expect(bf16BitsToF32(f32ToBf16Bits(1e-40))).toBeGreaterThan(0);
    expect(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(Number.NaN)))).toBe(true);
  });
});
