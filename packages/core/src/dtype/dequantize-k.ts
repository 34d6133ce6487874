import { type BlockDecoder, half, IQ4_LEVELS } from './dequantize-32.js';

// ggml's 256-element "super-blocks" (k-quants and IQ4_XS): sub-blocks of 16 or 32 elements with
// small integer scales (and mins) multiplied by the block's f16 scale(s). Written to follow
// `dequantize_row_q*_K` in ggml-quants.c loop for loop, f32 rounding included.

const f = Math.fround;

/**
 * Sub-block `j` (0–7) scale and min of Q4_K/Q5_K, 6 bits each, packed in 12 bytes at `at`
 * (ggml's `get_scale_min_k4`): the first four in the low 6 bits of bytes 0–3 (scales) and 4–7
 * (mins); the last four in the nibbles of bytes 8–11 with their top two bits in the spare top bits
 * of bytes 0–7.
 */
export function scaleMinK4(src: Uint8Array, at: number, j: number): [number, number] {
  if (j < 4) return [src[at + j]! & 63, src[at + j + 4]! & 63];
  const sc = (src[at + j + 4]! & 0xf) | ((src[at + j - 4]! >> 6) << 4);
  const m = (src[at + j + 4]! >> 4) | ((src[at + j]! >> 6) << 4);
  return [sc, m];
}

/**
 * Sub-block `i` (0–15) scale of Q3_K, 6 bits, packed in 12 bytes at `at`: the low four bits are a
 * nibble of bytes 0–7 (low nibbles for i < 8), the top two bits come from bytes 8–11, two bits per
 * group of four sub-blocks. ggml unpacks all sixteen at once with word masks; this is the same map.
 */
export function scaleQ3K(src: Uint8Array, at: number, i: number): number {
  const low = (src[at + (i % 8)]! >> (i < 8 ? 0 : 4)) & 0xf;
  const high = (src[at + 8 + (i % 4)]! >> (2 * Math.floor(i / 4))) & 3;
  return low | (high << 4);
}

/**
 * scales[16] (4-bit scale, 4-bit min), qs[64] (2 bits each), d, dmin. Each half of 128 elements
 * reads 32 bytes of qs four times, two bits further each time; each pass covers two 16-element
 * sub-blocks (bytes l and l + 16). Element = `d·scale · q − dmin·min`.
 */
export const decodeQ2K: BlockDecoder = (src, at, out, o) => {
  const d = half(src, at + 80);
  const min = half(src, at + 82);
  let y = o;
  let is = 0;
  for (let n = 0; n < 256; n += 128) {
    const q = at + 16 + n / 4;
    for (let shift = 0; shift < 8; shift += 2) {
      for (const off of [0, 16]) {
        const sc = src[at + is++]!;
        const dl = f(d * (sc & 0xf));
        const ml = f(min * (sc >> 4));
        for (let l = 0; l < 16; l++) out[y++] = f(f(dl * ((src[q + off + l]! >> shift) & 3)) - ml);
      }
    }
  }
};

/**
 * hmask[32], qs[64], scales[12], d. As Q2_K's layout for the low two bits; the third bit is bit
 * `pass` (0–7, one per shift of each half) of hmask[l] and, when it is clear, 4 is subtracted, so
 * q ∈ [−4, 3]. Element = `d·(scale − 32) · q`.
 */
export const decodeQ3K: BlockDecoder = (src, at, out, o) => {
  const d = half(src, at + 108);
  let y = o;
  let is = 0;
  let bit = 1;
  for (let n = 0; n < 256; n += 128) {
    const q = at + 32 + n / 4;
    for (let shift = 0; shift < 8; shift += 2) {
      for (const off of [0, 16]) {
        const dl = f(d * (scaleQ3K(src, at + 96, is++) - 32));
        for (let l = 0; l < 16; l++) {
          const low = (src[q + off + l]! >> shift) & 3;
          const h = src[at + off + l]! & bit ? 0 : 4;
          out[y++] = f(dl * (low - h));
        }
      }
      bit <<= 1;
    }
  }
};

/**
 * d, dmin, scales[12], qs[128]. Four chunks of 64 elements read 32 bytes of qs: low nibbles are
 * sub-block 2c, high nibbles sub-block 2c + 1. Element = `d·scale · q − dmin·min`.
 */
export const decodeQ4K: BlockDecoder = (src, at, out, o) => {
  const d = half(src, at);
  const min = half(src, at + 2);
  let y = o;
  for (let c = 0; c < 4; c++) {
    const q = at + 16 + 32 * c;
    const [s1, m1] = scaleMinK4(src, at + 4, 2 * c);
    const [s2, m2] = scaleMinK4(src, at + 4, 2 * c + 1);
    const d1 = f(d * s1);
    const mm1 = f(min * m1);
    const d2 = f(d * s2);
    const mm2 = f(min * m2);
    for (let l = 0; l < 32; l++) out[y++] = f(f(d1 * (src[q + l]! & 0xf)) - mm1);
    for (let l = 0; l < 32; l++) out[y++] = f(f(d2 * (src[q + l]! >> 4)) - mm2);
  }
};

/** d, dmin, scales[12], qh[32], qs[128]: Q4_K plus a fifth bit, bit 2c (low) / 2c + 1 (high) of qh[l]. */
export const decodeQ5K: BlockDecoder = (src, at, out, o) => {
  const d = half(src, at);
  const min = half(src, at + 2);
  let y = o;
  for (let c = 0; c < 4; c++) {
    const q = at + 48 + 32 * c;
    const [s1, m1] = scaleMinK4(src, at + 4, 2 * c);
    const [s2, m2] = scaleMinK4(src, at + 4, 2 * c + 1);
    const d1 = f(d * s1);
    const mm1 = f(min * m1);
    const d2 = f(d * s2);
    const mm2 = f(min * m2);
    const u1 = 1 << (2 * c);
    const u2 = 2 << (2 * c);
    for (let l = 0; l < 32; l++) {
      out[y++] = f(f(d1 * ((src[q + l]! & 0xf) + (src[at + 16 + l]! & u1 ? 16 : 0))) - mm1);
    }
    for (let l = 0; l < 32; l++) {
      out[y++] = f(f(d2 * ((src[q + l]! >> 4) + (src[at + 16 + l]! & u2 ? 16 : 0))) - mm2);
    }
  }
};

/**
 * ql[128], qh[64], scales[16] (int8), d. Each half of 128 elements: element 32g + l (g = 0–3)
 * takes a nibble of ql[l + 32·(g & 1)] (high nibble for g ≥ 2) and bits 2g, 2g + 1 of qh[l];
 * q ∈ [−32, 31]; scale index l/16 + 2g. Element = `d·scale · q`.
 */
export const decodeQ6K: BlockDecoder = (src, at, out, o) => {
  const d = half(src, at + 208);
  for (let n = 0; n < 2; n++) {
    const ql = at + 64 * n;
    const qh = at + 128 + 32 * n;
    const sc = at + 192 + 8 * n;
    const y = o + 128 * n;
    for (let l = 0; l < 32; l++) {
      const is = l >> 4;
      const h = src[qh + l]!;
      const q1 = ((src[ql + l]! & 0xf) | ((h & 3) << 4)) - 32;
      const q2 = ((src[ql + l + 32]! & 0xf) | (((h >> 2) & 3) << 4)) - 32;
      const q3 = ((src[ql + l]! >> 4) | (((h >> 4) & 3) << 4)) - 32;
      const q4 = ((src[ql + l + 32]! >> 4) | (((h >> 6) & 3) << 4)) - 32;
      out[y + l] = f(f(d * int8(src[sc + is]!)) * q1);
      out[y + l + 32] = f(f(d * int8(src[sc + is + 2]!)) * q2);
      out[y + l + 64] = f(f(d * int8(src[sc + is + 4]!)) * q3);
      out[y + l + 96] = f(f(d * int8(src[sc + is + 6]!)) * q4);
    }
  }
};

/**
 * d, scales_h (u16), scales_l[4], qs[128]: eight 32-element sub-blocks with a 6-bit scale each
 * (a nibble of scales_l, two bits of scales_h), nibbles as in IQ4_NL. Element =
 * `d·(scale − 32) · level[nibble]`.
 */
export const decodeIq4Xs: BlockDecoder = (src, at, out, o) => {
  const d = half(src, at);
  const scalesH = src[at + 2]! | (src[at + 3]! << 8);
  for (let ib = 0; ib < 8; ib++) {
    const ls = ((src[at + 4 + (ib >> 1)]! >> (4 * (ib % 2))) & 0xf) | (((scalesH >> (2 * ib)) & 3) << 4);
    const dl = f(d * (ls - 32));
    const qs = at + 8 + 16 * ib;
    for (let j = 0; j < 16; j++) {
      out[o + 32 * ib + j] = f(dl * IQ4_LEVELS[src[qs + j]! & 0xf]!);
      out[o + 32 * ib + j + 16] = f(dl * IQ4_LEVELS[src[qs + j]! >> 4]!);
    }
  }
};

function int8(b: number): number {
  return b >= 128 ? b - 256 : b;
}
