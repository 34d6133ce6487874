// ggml's 256-element super-blocks (Q2_K … Q6_K, IQ4_XS): sixteen 16-element pieces per block. A
// prep step unpacks the block's 6-bit/4-bit/int8 sub-scales and multiplies them by the f16 scale
// (and min) once per block and row; the piece decoders then only unpack quants. Values are exactly
// core's dequantize-k.ts (ggml's dequantize_row_*_K), products and sums rounded to f32 in order.
#include "quant-impl.h"

// Q2_K: scales[16] (low nibble scale, high nibble min), qs[64], d, dmin. Sub-block g (16
// elements) = d·scale · q − dmin·min, the two products rounded first as in ggml.
static void prep_q2_k(const uint8_t *b, kvq_scales *s) {
  const float d = kvq_f16(b + 80);
  const float dmin = kvq_f16(b + 82);
  for (int g = 0; g < 16; g++) {
    s->d[g] = d * (float)(b[g] & 0xf);
    s->m[g] = dmin * (float)(b[g] >> 4);
  }
}

// Groups are the two 128-element halves n. Piece p of half n reads 16 bytes of qs, 32n + 16·(p & 1)
// onwards, two bits at 2·(p/2); its scale and min are ggml's index 8n + p.
KVQ_INLINE void piece_q2_k(const uint8_t *b, int n, int p, const kvq_scales *s, v128_t w[4]) {
  const v128_t q = wasm_v128_load(b + 16 + 32 * n + 16 * (p & 1));
  kvq_i8_f32(kvq_bits8(q, 2 * (p >> 1), 3), w);
  kvq_scale_sub4(w, s->d[8 * n + p], s->m[8 * n + p]);
}

// Q3_K: hmask[32], qs[64], scales[12], d. Sixteen 6-bit scales: the low four bits are nibbles of
// bytes 0–7 (low nibbles for groups 0–7), the top two come from bytes 8–11, two bits per group of
// four. Group scale = d·(scale − 32).
static void prep_q3_k(const uint8_t *b, kvq_scales *s) {
  const float d = kvq_f16(b + 108);
  const uint8_t *sc = b + 96;
  for (int g = 0; g < 16; g++) {
    const int low = (sc[g & 7] >> (g < 8 ? 0 : 4)) & 0xf;
    const int high = (sc[8 + (g & 3)] >> (2 * (g >> 2))) & 3;
    s->d[g] = d * (float)((low | (high << 4)) - 32);
  }
}

// Low two bits as in Q2_K (qs at 32); the third is bit 4n + p/2 of hmask[16·(p & 1) + l], and a
// clear bit subtracts 4, so q ∈ [−4, 3].
KVQ_INLINE void piece_q3_k(const uint8_t *b, int n, int p, const kvq_scales *s, v128_t w[4]) {
  const v128_t low = kvq_bits8(wasm_v128_load(b + 32 + 32 * n + 16 * (p & 1)), 2 * (p >> 1), 3);
  const v128_t bit = wasm_i8x16_splat((int8_t)(1 << (4 * n + (p >> 1))));
  const v128_t clear = wasm_i8x16_eq(wasm_v128_and(wasm_v128_load(b + 16 * (p & 1)), bit), wasm_i8x16_splat(0));
  kvq_i8_f32(wasm_i8x16_sub(low, wasm_v128_and(clear, wasm_i8x16_splat(4))), w);
  kvq_scale4(w, s->d[8 * n + p]);
}

// Q4_K/Q5_K: d, dmin, scales[12]: eight 6-bit scales and mins (ggml's get_scale_min_k4). The first
// four sit in the low 6 bits of bytes 0–3 (scales) and 4–7 (mins); the last four in the nibbles
// of bytes 8–11 with their top two bits in the spare top bits of bytes 0–7.
static void prep_k4(const uint8_t *b, kvq_scales *s) {
  const float d = kvq_f16(b);
  const float dmin = kvq_f16(b + 2);
  const uint8_t *q = b + 4;
  for (int j = 0; j < 8; j++) {
    int sc, m;
    if (j < 4) {
      sc = q[j] & 63;
      m = q[j + 4] & 63;
    } else {
      sc = (q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4);
      m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
    s->d[2 * j] = s->d[2 * j + 1] = d * (float)sc;
    s->m[2 * j] = s->m[2 * j + 1] = dmin * (float)m;
  }
}

// Q4_K: qs[128] at 16. Groups are 64 elements, sub-blocks 2j and 2j + 1, which share 32 bytes of
// qs: low nibbles (pieces 0, 1), then high (pieces 2, 3). Element = d·scale · q − dmin·min.
KVQ_INLINE void piece_q4_k(const uint8_t *b, int j, int p, const kvq_scales *s, v128_t w[4]) {
  const v128_t q = wasm_v128_load(b + 16 + 32 * j + 16 * (p & 1));
  kvq_i8_f32(kvq_bits8(q, 4 * (p >> 1), 0xf), w);
  kvq_scale_sub4(w, s->d[4 * j + p], s->m[4 * j + p]);
}

// Q5_K: qh[32] at 16, qs[128] at 48: Q4_K's nibbles plus a fifth bit, bit 2j + p/2 of qh[l].
KVQ_INLINE void piece_q5_k(const uint8_t *b, int j, int p, const kvq_scales *s, v128_t w[4]) {
  const v128_t nib = kvq_bits8(wasm_v128_load(b + 48 + 32 * j + 16 * (p & 1)), 4 * (p >> 1), 0xf);
  const v128_t bit = wasm_i8x16_splat((int8_t)(1 << (2 * j + (p >> 1))));
  const v128_t set = wasm_i8x16_eq(wasm_v128_and(wasm_v128_load(b + 16 + 16 * (p & 1)), bit), bit);
  kvq_i8_f32(wasm_v128_or(nib, wasm_v128_and(set, wasm_i8x16_splat(16))), w);
  kvq_scale_sub4(w, s->d[4 * j + p], s->m[4 * j + p]);
}

// Q6_K: ql[128], qh[64], scales[16] (int8), d. Group scale = d·scale (rounded, as in ggml).
static void prep_q6_k(const uint8_t *b, kvq_scales *s) {
  const float d = kvq_f16(b + 208);
  for (int g = 0; g < 16; g++) s->d[g] = d * (float)(int8_t)b[192 + g];
}

// Groups are the 128-element halves n; piece p = 2i + h of half n holds elements 32i + 16h + l:
// low four bits from ql[64n + 32·(i & 1) + 16h + l] (high nibble when i ≥ 2), top two from bits
// 2i, 2i + 1 of qh[32n + 16h + l]; q ∈ [−32, 31]. Its scale is ggml's index 8n + p.
KVQ_INLINE void piece_q6_k(const uint8_t *b, int n, int p, const kvq_scales *s, v128_t w[4]) {
  const int i = p >> 1;
  const v128_t lo = kvq_bits8(wasm_v128_load(b + 64 * n + 32 * (i & 1) + 16 * (p & 1)), 4 * (i >> 1), 0xf);
  // Values ≤ 3 shifted by 4 stay inside their byte: the cheaper 16-bit shift is exact here.
  const v128_t hi = wasm_i16x8_shl(kvq_bits8(wasm_v128_load(b + 128 + 32 * n + 16 * (p & 1)), 2 * i, 3), 4);
  kvq_i8_f32(wasm_i8x16_sub(wasm_v128_or(lo, hi), wasm_i8x16_splat(32)), w);
  kvq_scale4(w, s->d[8 * n + p]);
}

// IQ4_XS: d, scales_h (u16), scales_l[4], qs[128]: eight 32-element sub-blocks with a 6-bit scale
// (a nibble of scales_l, two bits of scales_h). Sub-block scale = d·(scale − 32).
static void prep_iq4_xs(const uint8_t *b, kvq_scales *s) {
  const float d = kvq_f16(b);
  const int scales_h = b[2] | (b[3] << 8);
  for (int ib = 0; ib < 8; ib++) {
    const int ls = ((b[4 + (ib >> 1)] >> (4 * (ib & 1))) & 0xf) | (((scales_h >> (2 * ib)) & 3) << 4);
    s->d[2 * ib] = s->d[2 * ib + 1] = d * (float)(ls - 32);
  }
}

// Groups are the 32-element sub-blocks ib: nibbles of qs[16·ib .. 16·ib + 15] placed as in
// IQ4_NL (piece 0 low, piece 1 high). Element = scale·level[nibble].
KVQ_INLINE void piece_iq4_xs(const uint8_t *b, int ib, int p, const kvq_scales *s, v128_t w[4]) {
  const v128_t q = wasm_v128_load(b + 8 + 16 * ib);
  kvq_i8_f32(wasm_i8x16_swizzle(KVQ_IQ4_LEVELS, kvq_bits8(q, 4 * p, 0xf)), w);
  kvq_scale4(w, s->d[2 * ib + p]);
}

KVQ_DEFINE_FORMAT(q2_k, 256, 84, 128, prep_q2_k, piece_q2_k)
KVQ_DEFINE_FORMAT(q3_k, 256, 110, 128, prep_q3_k, piece_q3_k)
KVQ_DEFINE_FORMAT(q4_k, 256, 144, 64, prep_k4, piece_q4_k)
KVQ_DEFINE_FORMAT(q5_k, 256, 176, 64, prep_k4, piece_q5_k)
KVQ_DEFINE_FORMAT(q6_k, 256, 210, 128, prep_q6_k, piece_q6_k)
KVQ_DEFINE_FORMAT(iq4_xs, 256, 136, 32, prep_iq4_xs, piece_iq4_xs)
