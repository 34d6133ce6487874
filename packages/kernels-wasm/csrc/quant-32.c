// ggml's 32-element block formats (ggml-common.h block_q4_0 … block_iq4_nl), two pieces per block.
// Each decoder yields exactly the f32 values of core's dequantize-32.ts (ggml's dequantize_row_*):
// integer quants are exact in f32, so only the products and sums written there are rounded, in
// the same order.
#include "quant-impl.h"

// In Q4_0, Q4_1, Q5_x and IQ4_NL byte j of qs holds element j (low nibble) and element j + 16
// (high nibble): one 16-byte load gives the whole block's quants.
KVQ_INLINE v128_t lo_nibbles(v128_t q) { return wasm_v128_and(q, wasm_i8x16_splat(0x0f)); }
KVQ_INLINE v128_t hi_nibbles(v128_t q) { return kvq_bits8(q, 4, 0x0f); }

// Bit 4 (value 16) for the 16 elements of piece p, whose fifth bits are bits 16p .. 16p + 15 of
// qh: byte lanes 0–7 take byte 2p of qh, lanes 8–15 byte 2p + 1, and each lane tests its own bit.
KVQ_INLINE v128_t fifth_bits(const uint8_t *qh, int p) {
  const v128_t spread =
      wasm_i8x16_swizzle(wasm_v128_load32_splat(qh), p ? wasm_i8x16_const(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3)
                                                      : wasm_i8x16_const(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
  const v128_t lane_bit = wasm_u8x16_const(1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128);
  const v128_t set = wasm_i8x16_eq(wasm_v128_and(spread, lane_bit), lane_bit);
  return wasm_v128_and(set, wasm_i8x16_splat(16));
}

// Piece p of these blocks is the low nibbles (p = 0, elements 0–15) or the high ones (p = 1).
KVQ_INLINE v128_t nibbles(v128_t q, int p) { return p ? hi_nibbles(q) : lo_nibbles(q); }

// The block's f16 scale (and min), decoded once per block and row rather than once per piece.
KVQ_INLINE void prep_d(const uint8_t *b, kvq_scales *s) { s->d[0] = kvq_f16(b); }

KVQ_INLINE void prep_dm(const uint8_t *b, kvq_scales *s) {
  s->d[0] = kvq_f16(b);
  s->m[0] = kvq_f16(b + 2);
}

// Q4_0: d, qs[16]. Element = (nibble − 8)·d.
KVQ_INLINE void piece_q4_0(const uint8_t *b, int g, int p, const kvq_scales *s, v128_t w[4]) {
  (void)g;
  kvq_i8_f32(wasm_i8x16_sub(nibbles(wasm_v128_load(b + 2), p), wasm_i8x16_splat(8)), w);
  kvq_scale4(w, s->d[0]);
}

// Q4_1: d, m, qs[16]. Element = nibble·d + m.
KVQ_INLINE void piece_q4_1(const uint8_t *b, int g, int p, const kvq_scales *s, v128_t w[4]) {
  (void)g;
  kvq_i8_f32(nibbles(wasm_v128_load(b + 4), p), w);
  kvq_scale_add4(w, s->d[0], s->m[0]);
}

// Q5_0: d, qh (u32: bit e is element e's fifth bit), qs[16]. Element = (q5 − 16)·d.
KVQ_INLINE void piece_q5_0(const uint8_t *b, int g, int p, const kvq_scales *s, v128_t w[4]) {
  (void)g;
  const v128_t q5 = wasm_v128_or(nibbles(wasm_v128_load(b + 6), p), fifth_bits(b + 2, p));
  kvq_i8_f32(wasm_i8x16_sub(q5, wasm_i8x16_splat(16)), w);
  kvq_scale4(w, s->d[0]);
}

// Q5_1: d, m, qh, qs[16]. Element = q5·d + m.
KVQ_INLINE void piece_q5_1(const uint8_t *b, int g, int p, const kvq_scales *s, v128_t w[4]) {
  (void)g;
  kvq_i8_f32(wasm_v128_or(nibbles(wasm_v128_load(b + 8), p), fifth_bits(b + 4, p)), w);
  kvq_scale_add4(w, s->d[0], s->m[0]);
}

// Q8_0: d, qs[32] (int8). Element = q·d.
KVQ_INLINE void piece_q8_0(const uint8_t *b, int g, int p, const kvq_scales *s, v128_t w[4]) {
  (void)g;
  kvq_i8_f32(wasm_v128_load(b + 2 + 16 * p), w);
  kvq_scale4(w, s->d[0]);
}

// IQ4_NL: d, qs[16], nibbles placed as in Q4_0. Element = d·level[nibble].
KVQ_INLINE void piece_iq4_nl(const uint8_t *b, int g, int p, const kvq_scales *s, v128_t w[4]) {
  (void)g;
  kvq_i8_f32(wasm_i8x16_swizzle(KVQ_IQ4_LEVELS, nibbles(wasm_v128_load(b + 2), p)), w);
  kvq_scale4(w, s->d[0]);
}

KVQ_DEFINE_FORMAT(q4_0, 32, 18, 32, prep_d, piece_q4_0)
KVQ_DEFINE_FORMAT(q4_1, 32, 20, 32, prep_dm, piece_q4_1)
KVQ_DEFINE_FORMAT(q5_0, 32, 22, 32, prep_d, piece_q5_0)
KVQ_DEFINE_FORMAT(q5_1, 32, 24, 32, prep_dm, piece_q5_1)
KVQ_DEFINE_FORMAT(q8_0, 32, 34, 32, prep_d, piece_q8_0)
KVQ_DEFINE_FORMAT(iq4_nl, 32, 18, 32, prep_d, piece_iq4_nl)
