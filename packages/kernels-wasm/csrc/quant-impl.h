// Shared internals of the stored-weight row kernels (quant.c, quant-32.c, quant-k.c).
//
// Every block format is read as 16-element pieces, each with one scale (and min): a piece decodes
// into four f32x4 holding exactly ggml's dequantized values, and one driver turns a piece decoder
// into decode, dot and four-row dot loops. The 32-element formats are two pieces per block; the
// 256-element formats sixteen, with their sub-block scales unpacked once per block ("prep") into
// kvq_scales. A block is walked in groups, the span after which its layout repeats (64 or 128
// elements in the K-quants): pieces are unrolled within a group, so their bit shifts are
// constants, and groups are a loop, which keeps the code and the live vectors small.
#ifndef KVSIEVE_QUANT_IMPL_H
#define KVSIEVE_QUANT_IMPL_H

#include <stdint.h>
#include <wasm_simd128.h>

// The kernels must round every product and sum to f32 as ggml's reference does: a contracted
// multiply-add would round once and break bit-exact decoding on targets that have one.
#pragma STDC FP_CONTRACT OFF

#define KVQ_INLINE static inline __attribute__((always_inline))
// Functions shared between the kernel files but not part of the module's API: hidden, so a link
// with --export-dynamic does not export them.
#define KVQ_HIDDEN __attribute__((visibility("hidden")))

// A block's scales (and mins) in f32, as ggml's decoder forms them before multiplying quants: in
// the K-quants the sub-scale times the block's f16 scale, with d[p], m[p] for piece p (elements
// 16p .. 16p + 15; 32-element sub-blocks store theirs for both pieces); in the 32-element formats
// just the f16 scale and min, in d[0] and m[0].
typedef struct {
  float d[16];
  float m[16];
} kvq_scales;

typedef void (*kvq_prep_fn)(const uint8_t *blk, kvq_scales *s);
// Decodes piece p (a constant) of group g of the block at blk, elements group·g + 16p .. + 15,
// into w[0..3]. Its scale is s->d[pieces per group · g + p].
typedef void (*kvq_piece_fn)(const uint8_t *blk, int g, int p, const kvq_scales *s, v128_t w[4]);

// IQ4_NL's and IQ4_XS's 16 non-uniform levels (ggml-common.h kvalues_iq4nl); a byte swizzle looks
// sixteen of them up at once.
#define KVQ_IQ4_LEVELS wasm_i8x16_const(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113)

// Little-endian loads at any alignment (wasm is little-endian and allows unaligned access; memcpy
// compiles to one load).
KVQ_INLINE uint32_t kvq_u32(const uint8_t *p) {
  uint32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

KVQ_INLINE uint32_t kvq_u16(const uint8_t *p) {
  uint16_t v;
  __builtin_memcpy(&v, p, 2);
  return v;
}

KVQ_INLINE float kvq_bits_f32(uint32_t u) {
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}

KVQ_INLINE uint32_t kvq_f32_bits(float f) {
  uint32_t u;
  __builtin_memcpy(&u, &f, 4);
  return u;
}

// The exact value of the little-endian f16 at p. Placing the 15 magnitude bits under an f32
// exponent bias of 15 instead of 127 and multiplying by 2^112 rebiases normals and turns
// subnormals (f32 denormals before the multiply) into normals, both exactly; Inf/NaN keep an
// all-ones exponent. WebAssembly keeps denormals (no flush to zero), so this is exact there.
KVQ_INLINE float kvq_f16(const uint8_t *p) {
  const uint32_t h = kvq_u16(p);
  const uint32_t em = h & 0x7fff;
  const uint32_t sign = (h & 0x8000) << 16;
  if (em >= 0x7c00) return kvq_bits_f32(sign | 0x7f800000 | ((em & 0x3ff) << 13));
  return kvq_bits_f32(sign | kvq_f32_bits(kvq_bits_f32(em << 13) * 0x1p112f));
}

// Eight f16 values (u16 lanes) as two f32x4 (elements 0–3, 4–7), exactly as kvq_f16. Each f32 is
// assembled as two 16-bit halves and interleaved (x86 unpack instructions) instead of widened and
// masked, which compiles to fewer and cheaper instructions: the high half is the sign and the
// magnitude's top 12 bits, the low half its bottom 3. Inf and NaN lanes are rare; they take a
// branch that sets their exponent to all ones.
KVQ_INLINE void kvq_f16x8(v128_t h, v128_t *lo, v128_t *hi) {
  const v128_t bottom = wasm_i16x8_shl(h, 13);
  const v128_t top = wasm_v128_and(wasm_i16x8_shr(h, 3), wasm_i16x8_splat((int16_t)0x8fff));
  const v128_t rebias = wasm_f32x4_splat(0x1p112f);
  v128_t a = wasm_f32x4_mul(wasm_i16x8_shuffle(bottom, top, 0, 8, 1, 9, 2, 10, 3, 11), rebias);
  v128_t b = wasm_f32x4_mul(wasm_i16x8_shuffle(bottom, top, 4, 12, 5, 13, 6, 14, 7, 15), rebias);
  const v128_t special = wasm_i16x8_gt(wasm_v128_and(h, wasm_i16x8_splat(0x7fff)), wasm_i16x8_splat(0x7bff));
  if (__builtin_expect(wasm_v128_any_true(special), 0)) {
    // Their rebiased exponent is 0x8f: or-ing in all ones keeps the sign and the mantissa.
    const v128_t ones = wasm_i32x4_splat(0x7f800000);
    a = wasm_v128_or(a, wasm_v128_and(wasm_i16x8_shuffle(special, special, 0, 0, 1, 1, 2, 2, 3, 3), ones));
    b = wasm_v128_or(b, wasm_v128_and(wasm_i16x8_shuffle(special, special, 4, 4, 5, 5, 6, 6, 7, 7), ones));
  }
  *lo = a;
  *hi = b;
}

// Sixteen small signed integers (i8 lanes) as four f32x4, in lane order. Every quant value here
// fits an i8 (nibbles, 5- and 6-bit quants, IQ4 levels, Q8_0), so one widening serves all formats.
KVQ_INLINE void kvq_i8_f32(v128_t q, v128_t *w) {
  const v128_t lo = wasm_i16x8_extend_low_i8x16(q);
  const v128_t hi = wasm_i16x8_extend_high_i8x16(q);
  w[0] = wasm_f32x4_convert_i32x4(wasm_i32x4_extend_low_i16x8(lo));
  w[1] = wasm_f32x4_convert_i32x4(wasm_i32x4_extend_high_i16x8(lo));
  w[2] = wasm_f32x4_convert_i32x4(wasm_i32x4_extend_low_i16x8(hi));
  w[3] = wasm_f32x4_convert_i32x4(wasm_i32x4_extend_high_i16x8(hi));
}

// Bits [shift, shift + width) of each byte: a 16-bit lane shift is one x86 instruction where an
// 8-bit one is several, and the mask discards what crossed from the neighbouring byte.
KVQ_INLINE v128_t kvq_bits8(v128_t q, int shift, int mask) {
  return wasm_v128_and(wasm_u16x8_shr(q, shift), wasm_i8x16_splat((int8_t)mask));
}

// w[i] = w[i]·d for the four vectors of a piece, the f32 product ggml's decoders round to.
KVQ_INLINE void kvq_scale4(v128_t *w, float d) {
  const v128_t dv = wasm_f32x4_splat(d);
  for (int i = 0; i < 4; i++) w[i] = wasm_f32x4_mul(w[i], dv);
}

// w[i] = w[i]·d − m, each step rounded to f32 (ggml's `dl·q − ml`; no fused multiply-add).
KVQ_INLINE void kvq_scale_sub4(v128_t *w, float d, float m) {
  const v128_t dv = wasm_f32x4_splat(d);
  const v128_t mv = wasm_f32x4_splat(m);
  for (int i = 0; i < 4; i++) w[i] = wasm_f32x4_sub(wasm_f32x4_mul(w[i], dv), mv);
}

// w[i] = w[i]·d + m, each step rounded to f32 (the _1 formats' `q·d + m`).
KVQ_INLINE void kvq_scale_add4(v128_t *w, float d, float m) {
  const v128_t dv = wasm_f32x4_splat(d);
  const v128_t mv = wasm_f32x4_splat(m);
  for (int i = 0; i < 4; i++) w[i] = wasm_f32x4_add(wasm_f32x4_mul(w[i], dv), mv);
}

KVQ_INLINE float kvq_hsum(v128_t v) {
  v = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  v = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(v, 0);
}

// out[r] = Σ w·x over rows row + r·stride, r < nrows (1 or 2, a constant after inlining). Each
// 16-element piece of x is loaded once and multiplied into every row. Each row alternates two
// accumulators, to halve the dependency chain of its adds.
KVQ_INLINE void kvq_drive_dot(const uint8_t *row, int stride, int nrows, const float *x, int k, float *out,
                              int block, int bytes, int group, kvq_prep_fn prep, kvq_piece_fn piece) {
  v128_t acc[2][2];
  kvq_scales s[2];
  for (int r = 0; r < 2; r++) acc[r][0] = acc[r][1] = wasm_f32x4_splat(0.0f);
  const int nb = k / block;
  for (int b = 0; b < nb; b++) {
    const uint8_t *blk = row + b * bytes;
    if (prep)
      for (int r = 0; r < nrows; r++) prep(blk + r * stride, &s[r]);
    for (int g = 0; g < block / group; g++) {
      // Rows and pieces fully unrolled: accumulators stay in locals (a rolled row loop would keep
      // them in linear memory) and each piece's shifts are constants.
#pragma clang loop unroll(full)
      for (int p = 0; p < group / 16; p++) {
        const float *xp = x + b * block + g * group + 16 * p;
        v128_t xv[4];
        for (int i = 0; i < 4; i++) xv[i] = wasm_v128_load(xp + 4 * i);
#pragma clang loop unroll(full)
        for (int r = 0; r < nrows; r++) {
          v128_t w[4];
          piece(blk + r * stride, g, p, &s[r], w);
          for (int i = 0; i < 4; i++) {
            v128_t *a = &acc[r][i & 1];
            *a = wasm_f32x4_add(*a, wasm_f32x4_mul(w[i], xv[i]));
          }
        }
      }
    }
  }
  for (int r = 0; r < nrows; r++) out[r] = kvq_hsum(wasm_f32x4_add(acc[r][0], acc[r][1]));
}

// out[j] = Σ w·x_j for one row and four vectors x_j = x + j·x_stride: each piece of the row is
// decoded once and multiplied into all four, the prefill (matmul) kernel where decoding, not x,
// is what to amortise.
KVQ_INLINE void kvq_drive_dotx4(const uint8_t *row, const float *x, int x_stride, int k, float *out, int block,
                                int bytes, int group, kvq_prep_fn prep, kvq_piece_fn piece) {
  v128_t acc[4];
  kvq_scales s;
  for (int j = 0; j < 4; j++) acc[j] = wasm_f32x4_splat(0.0f);
  const int nb = k / block;
  for (int b = 0; b < nb; b++) {
    const uint8_t *blk = row + b * bytes;
    if (prep) prep(blk, &s);
    for (int g = 0; g < block / group; g++) {
#pragma clang loop unroll(full)
      for (int p = 0; p < group / 16; p++) {
        v128_t w[4];
        piece(blk, g, p, &s, w);
        const float *xp = x + b * block + g * group + 16 * p;
#pragma clang loop unroll(full)
        for (int j = 0; j < 4; j++) {
          for (int i = 0; i < 4; i++) {
            acc[j] = wasm_f32x4_add(acc[j], wasm_f32x4_mul(w[i], wasm_v128_load(xp + j * x_stride + 4 * i)));
          }
        }
      }
    }
  }
  for (int j = 0; j < 4; j++) out[j] = kvq_hsum(acc[j]);
}

KVQ_INLINE void kvq_drive_decode(const uint8_t *row, float *out, int k, int block, int bytes, int group,
                                 kvq_prep_fn prep, kvq_piece_fn piece) {
  kvq_scales s;
  const int nb = k / block;
  for (int b = 0; b < nb; b++) {
    const uint8_t *blk = row + b * bytes;
    if (prep) prep(blk, &s);
    for (int g = 0; g < block / group; g++) {
#pragma clang loop unroll(full)
      for (int p = 0; p < group / 16; p++) {
        v128_t w[4];
        piece(blk, g, p, &s, w);
        float *o = out + b * block + g * group + 16 * p;
        for (int i = 0; i < 4; i++) wasm_v128_store(o + 4 * i, w[i]);
      }
    }
  }
}

// One format's entry points, instantiated from its piece decoder: `kvq_dot_<name>` for nrows 1 or
// 4, `kvq_dotx4_<name>` and `kvq_decode_<name>`. Four rows are read as two pairs: decoding four
// rows at once needs more live vectors (x, weights, masks, accumulators) than x64's 16 registers,
// and V8's spills then cost more than reloading x from L1 (measured: Q5_K/Q6_K four rows at once
// ran at 0.55–0.9x of single rows, pairs at 1.0x).
#define KVQ_DEFINE_FORMAT(name, block, bytes, group, prep, piece)                                      \
  KVQ_HIDDEN void kvq_dot_##name(const uint8_t *row, int stride, int nrows, const float *x, int k,     \
                                 float *out) {                                                        \
    if (nrows == 4) {                                                                                 \
      kvq_drive_dot(row, stride, 2, x, k, out, block, bytes, group, prep, piece);                     \
      kvq_drive_dot(row + 2 * stride, stride, 2, x, k, out + 2, block, bytes, group, prep, piece);    \
    } else                                                                                            \
      kvq_drive_dot(row, stride, 1, x, k, out, block, bytes, group, prep, piece);                     \
  }                                                                                                   \
  KVQ_HIDDEN void kvq_dotx4_##name(const uint8_t *row, const float *x, int x_stride, int k, float *out) { \
    kvq_drive_dotx4(row, x, x_stride, k, out, block, bytes, group, prep, piece);                      \
  }                                                                                                   \
  KVQ_HIDDEN void kvq_decode_##name(const uint8_t *row, float *out, int k) {                          \
    kvq_drive_decode(row, out, k, block, bytes, group, prep, piece);                                  \
  }

#define KVQ_DECLARE_FORMAT(name)                                                                      \
  KVQ_HIDDEN void kvq_dot_##name(const uint8_t *row, int stride, int nrows, const float *x, int k,     \
                                 float *out);                                                         \
  KVQ_HIDDEN void kvq_dotx4_##name(const uint8_t *row, const float *x, int x_stride, int k, float *out); \
  KVQ_HIDDEN void kvq_decode_##name(const uint8_t *row, float *out, int k);

KVQ_DECLARE_FORMAT(q4_0)
KVQ_DECLARE_FORMAT(q4_1)
KVQ_DECLARE_FORMAT(q5_0)
KVQ_DECLARE_FORMAT(q5_1)
KVQ_DECLARE_FORMAT(q8_0)
KVQ_DECLARE_FORMAT(iq4_nl)
KVQ_DECLARE_FORMAT(q2_k)
KVQ_DECLARE_FORMAT(q3_k)
KVQ_DECLARE_FORMAT(q4_k)
KVQ_DECLARE_FORMAT(q5_k)
KVQ_DECLARE_FORMAT(q6_k)
KVQ_DECLARE_FORMAT(iq4_xs)

#endif
