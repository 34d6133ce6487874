import { f16BitsToF32 } from './dtype.js';

// Blocks of 32 elements with one f16 scale (and a min for the _1 formats), decoded as ggml's
// reference `dequantize_row_*` (ggml-quants.c) computes them: every product and sum is an f32
// operation there, so each is rounded to f32 here too (Math.fround), in the same order.

/** Decodes the block at byte `at` of `src` into `out[o .. o + blockSize)`. */
export type BlockDecoder = (src: Uint8Array, at: number, out: Float32Array, o: number) => void;

const f = Math.fround;

/** The f16 at byte `at`, little-endian. */
export function half(src: Uint8Array, at: number): number {
  return f16BitsToF32(src[at]! | (src[at + 1]! << 8));
}

/** The u32 at byte `at`, little-endian, at any alignment. */
export function u32le(src: Uint8Array, at: number): number {
  return (src[at]! | (src[at + 1]! << 8) | (src[at + 2]! << 16) | (src[at + 3]! << 24)) >>> 0;
}

/** IQ4_NL's and IQ4_XS's 16 levels (ggml-common.h `kvalues_iq4nl`), non-uniform over [-127, 113]. */
export const IQ4_LEVELS: readonly number[] = [
  -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
];

/** d, qs[16]: element j is `(nibble − 8) · d`; byte j holds elements j (low) and j + 16 (high). */
export const decodeQ4_0: BlockDecoder = (src, at, out, o) => {
  const d = half(src, at);
  for (let j = 0; j < 16; j++) {
    const q = src[at + 2 + j]!;
    out[o + j] = f(((q & 0xf) - 8) * d);
    out[o + j + 16] = f(((q >> 4) - 8) * d);
  }
};

/** d, m, qs[16]: `nibble · d + m`. */
export const decodeQ4_1: BlockDecoder = (src, at, out, o) => {
  const d = half(src, at);
  const m = half(src, at + 2);
  for (let j = 0; j < 16; j++) {
    const q = src[at + 4 + j]!;
    out[o + j] = f(f((q & 0xf) * d) + m);
    out[o + j + 16] = f(f((q >> 4) * d) + m);
  }
};

/** d, qh (u32), qs[16]: bit e of qh is the fifth bit of element e; `(q5 − 16) · d`. */
export const decodeQ5_0: BlockDecoder = (src, at, out, o) => {
  const d = half(src, at);
  const qh = u32le(src, at + 2);
  for (let j = 0; j < 16; j++) {
    const q = src[at + 6 + j]!;
    const lo = (q & 0xf) | (((qh >>> j) & 1) << 4);
    const hi = (q >> 4) | (((qh >>> (j + 16)) & 1) << 4);
    out[o + j] = f((lo - 16) * d);
    out[o + j + 16] = f((hi - 16) * d);
  }
};

/** d, m, qh (u32), qs[16]: `q5 · d + m`. */
export const decodeQ5_1: BlockDecoder = (src, at, out, o) => {
  const d = half(src, at);
  const m = half(src, at + 2);
  const qh = u32le(src, at + 4);
  for (let j = 0; j < 16; j++) {
    const q = src[at + 8 + j]!;
    const lo = (q & 0xf) | (((qh >>> j) & 1) << 4);
    const hi = (q >> 4) | (((qh >>> (j + 16)) & 1) << 4);
    out[o + j] = f(f(lo * d) + m);
    out[o + j + 16] = f(f(hi * d) + m);
  }
};

/** d, qs[32] (int8): `q · d`. */
export const decodeQ8_0: BlockDecoder = (src, at, out, o) => {
  const d = half(src, at);
  for (let j = 0; j < 32; j++) {
    const q = src[at + 2 + j]!;
    out[o + j] = f((q >= 128 ? q - 256 : q) * d);
  }
};

/** d, qs[16]: `d · level[nibble]`, nibbles placed as in Q4_0. */
export const decodeIq4Nl: BlockDecoder = (src, at, out, o) => {
  const d = half(src, at);
  for (let j = 0; j < 16; j++) {
    const q = src[at + 2 + j]!;
    out[o + j] = f(d * IQ4_LEVELS[q & 0xf]!);
    out[o + j + 16] = f(d * IQ4_LEVELS[q >> 4]!);
  }
};
