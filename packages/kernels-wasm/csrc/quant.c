// The public row kernels (quant.h): a dispatch on the ggml type id to the block formats of
// quant-32.c and quant-k.c, and the dense F32/F16/BF16 rows, which take any k.
#include "quant.h"

#include "quant-impl.h"

typedef struct {
  int block;
  int bytes;
} kvq_layout;

static kvq_layout layout_of(int type) {
  switch (type) {
    case KV_F32: return (kvq_layout){1, 4};
    case KV_F16: return (kvq_layout){1, 2};
    case KV_BF16: return (kvq_layout){1, 2};
    case KV_Q4_0: return (kvq_layout){32, 18};
    case KV_Q4_1: return (kvq_layout){32, 20};
    case KV_Q5_0: return (kvq_layout){32, 22};
    case KV_Q5_1: return (kvq_layout){32, 24};
    case KV_Q8_0: return (kvq_layout){32, 34};
    case KV_IQ4_NL: return (kvq_layout){32, 18};
    case KV_Q2_K: return (kvq_layout){256, 84};
    case KV_Q3_K: return (kvq_layout){256, 110};
    case KV_Q4_K: return (kvq_layout){256, 144};
    case KV_Q5_K: return (kvq_layout){256, 176};
    case KV_Q6_K: return (kvq_layout){256, 210};
    case KV_IQ4_XS: return (kvq_layout){256, 136};
    default: return (kvq_layout){0, 0};
  }
}

int kv_type_block(int type) { return layout_of(type).block; }

int kv_row_bytes(int type, int k) {
  const kvq_layout l = layout_of(type);
  if (l.block == 0 || k < 0 || k % l.block != 0) return -1;
  const long long bytes = (long long)(k / l.block) * l.bytes;
  return bytes > 0x7fffffff ? -1 : (int)bytes;
}

// Dense rows: 16 elements per step as four f32x4 (exact widening of f16 and bf16), then a scalar
// tail for k not a multiple of 16.
typedef void (*dense_load_fn)(const uint8_t *p, v128_t w[4]);
typedef float (*dense_one_fn)(const uint8_t *p);

KVQ_INLINE void load16_f32(const uint8_t *p, v128_t w[4]) {
  for (int i = 0; i < 4; i++) w[i] = wasm_v128_load(p + 16 * i);
}

KVQ_INLINE void load16_f16(const uint8_t *p, v128_t w[4]) {
  kvq_f16x8(wasm_v128_load(p), &w[0], &w[1]);
  kvq_f16x8(wasm_v128_load(p + 16), &w[2], &w[3]);
}

// bf16 is the top half of an f32: interleaving zeros below each value widens it.
KVQ_INLINE void load16_bf16(const uint8_t *p, v128_t w[4]) {
  const v128_t zero = wasm_i16x8_splat(0);
  for (int h = 0; h < 2; h++) {
    const v128_t v = wasm_v128_load(p + 16 * h);
    w[2 * h] = wasm_i16x8_shuffle(zero, v, 0, 8, 1, 9, 2, 10, 3, 11);
    w[2 * h + 1] = wasm_i16x8_shuffle(zero, v, 4, 12, 5, 13, 6, 14, 7, 15);
  }
}

KVQ_INLINE float one_f32(const uint8_t *p) { return kvq_bits_f32(kvq_u32(p)); }
KVQ_INLINE float one_bf16(const uint8_t *p) { return kvq_bits_f32(kvq_u16(p) << 16); }

KVQ_INLINE void dense_dot(const uint8_t *row, int stride, int nrows, const float *x, int k, float *out,
                          int esize, dense_load_fn load16, dense_one_fn one) {
  v128_t acc[4][2];
  for (int r = 0; r < 4; r++) acc[r][0] = acc[r][1] = wasm_f32x4_splat(0.0f);
  int i = 0;
  for (; i + 16 <= k; i += 16) {
    v128_t xv[4];
    for (int j = 0; j < 4; j++) xv[j] = wasm_v128_load(x + i + 4 * j);
    // As in kvq_drive_dot: rows unrolled, two accumulators for a single row, one each for four.
#pragma clang loop unroll(full)
    for (int r = 0; r < nrows; r++) {
      v128_t w[4];
      load16(row + r * stride + i * esize, w);
      for (int j = 0; j < 4; j++) {
        v128_t *a = &acc[r][nrows == 1 ? (j & 1) : 0];
        *a = wasm_f32x4_add(*a, wasm_f32x4_mul(w[j], xv[j]));
      }
    }
  }
  for (int r = 0; r < nrows; r++) {
    float sum = kvq_hsum(wasm_f32x4_add(acc[r][0], acc[r][1]));
    for (int j = i; j < k; j++) sum += one(row + r * stride + j * esize) * x[j];
    out[r] = sum;
  }
}

KVQ_INLINE void dense_dotx4(const uint8_t *row, const float *x, int x_stride, int k, float *out, int esize,
                            dense_load_fn load16, dense_one_fn one) {
  v128_t acc[4];
  for (int j = 0; j < 4; j++) acc[j] = wasm_f32x4_splat(0.0f);
  int i = 0;
  for (; i + 16 <= k; i += 16) {
    v128_t w[4];
    load16(row + i * esize, w);
    for (int j = 0; j < 4; j++) {
      for (int q = 0; q < 4; q++) {
        acc[j] = wasm_f32x4_add(acc[j], wasm_f32x4_mul(w[q], wasm_v128_load(x + j * x_stride + i + 4 * q)));
      }
    }
  }
  for (int j = 0; j < 4; j++) {
    float sum = kvq_hsum(acc[j]);
    for (int e = i; e < k; e++) sum += one(row + e * esize) * x[j * x_stride + e];
    out[j] = sum;
  }
}

KVQ_INLINE void dense_decode(const uint8_t *row, float *out, int k, int esize, dense_load_fn load16,
                             dense_one_fn one) {
  int i = 0;
  for (; i + 16 <= k; i += 16) {
    v128_t w[4];
    load16(row + i * esize, w);
    for (int j = 0; j < 4; j++) wasm_v128_store(out + i + 4 * j, w[j]);
  }
  for (; i < k; i++) out[i] = one(row + i * esize);
}

// Each dense type with nrows fixed at 1 or 4, so the row loop unrolls.
#define KVQ_DEFINE_DENSE(name, esize, load16, one)                                                     \
  static void kvq_dot_##name(const uint8_t *row, int stride, int nrows, const float *x, int k,         \
                             float *out) {                                                             \
    if (nrows == 4)                                                                                    \
      dense_dot(row, stride, 4, x, k, out, esize, load16, one);                                        \
    else                                                                                               \
      dense_dot(row, stride, 1, x, k, out, esize, load16, one);                                        \
  }                                                                                                    \
  static void kvq_dotx4_##name(const uint8_t *row, const float *x, int x_stride, int k, float *out) {   \
    dense_dotx4(row, x, x_stride, k, out, esize, load16, one);                                         \
  }                                                                                                    \
  static void kvq_decode_##name(const uint8_t *row, float *out, int k) {                               \
    dense_decode(row, out, k, esize, load16, one);                                                     \
  }

KVQ_DEFINE_DENSE(f32, 4, load16_f32, one_f32)
KVQ_DEFINE_DENSE(f16, 2, load16_f16, kvq_f16)
KVQ_DEFINE_DENSE(bf16, 2, load16_bf16, one_bf16)

typedef void (*kvq_dot_fn)(const uint8_t *row, int stride, int nrows, const float *x, int k, float *out);
typedef void (*kvq_dotx4_fn)(const uint8_t *row, const float *x, int x_stride, int k, float *out);
typedef void (*kvq_decode_fn)(const uint8_t *row, float *out, int k);

typedef struct {
  kvq_dot_fn dot;
  kvq_dotx4_fn dotx4;
  kvq_decode_fn decode;
} kvq_kernels;

static kvq_kernels kernels_of(int type) {
  switch (type) {
    case KV_F32: return (kvq_kernels){kvq_dot_f32, kvq_dotx4_f32, kvq_decode_f32};
    case KV_F16: return (kvq_kernels){kvq_dot_f16, kvq_dotx4_f16, kvq_decode_f16};
    case KV_BF16: return (kvq_kernels){kvq_dot_bf16, kvq_dotx4_bf16, kvq_decode_bf16};
    case KV_Q4_0: return (kvq_kernels){kvq_dot_q4_0, kvq_dotx4_q4_0, kvq_decode_q4_0};
    case KV_Q4_1: return (kvq_kernels){kvq_dot_q4_1, kvq_dotx4_q4_1, kvq_decode_q4_1};
    case KV_Q5_0: return (kvq_kernels){kvq_dot_q5_0, kvq_dotx4_q5_0, kvq_decode_q5_0};
    case KV_Q5_1: return (kvq_kernels){kvq_dot_q5_1, kvq_dotx4_q5_1, kvq_decode_q5_1};
    case KV_Q8_0: return (kvq_kernels){kvq_dot_q8_0, kvq_dotx4_q8_0, kvq_decode_q8_0};
    case KV_IQ4_NL: return (kvq_kernels){kvq_dot_iq4_nl, kvq_dotx4_iq4_nl, kvq_decode_iq4_nl};
    case KV_Q2_K: return (kvq_kernels){kvq_dot_q2_k, kvq_dotx4_q2_k, kvq_decode_q2_k};
    case KV_Q3_K: return (kvq_kernels){kvq_dot_q3_k, kvq_dotx4_q3_k, kvq_decode_q3_k};
    case KV_Q4_K: return (kvq_kernels){kvq_dot_q4_k, kvq_dotx4_q4_k, kvq_decode_q4_k};
    case KV_Q5_K: return (kvq_kernels){kvq_dot_q5_k, kvq_dotx4_q5_k, kvq_decode_q5_k};
    case KV_Q6_K: return (kvq_kernels){kvq_dot_q6_k, kvq_dotx4_q6_k, kvq_decode_q6_k};
    case KV_IQ4_XS: return (kvq_kernels){kvq_dot_iq4_xs, kvq_dotx4_iq4_xs, kvq_decode_iq4_xs};
    default: return (kvq_kernels){0, 0, 0};
  }
}

float kv_row_dot(int type, const void *row, const float *x, int k) {
  const kvq_kernels kern = kernels_of(type);
  if (!kern.dot) return __builtin_nanf("");
  float out;
  kern.dot((const uint8_t *)row, 0, 1, x, k, &out);
  return out;
}

void kv_row_dot4(int type, const void *row, int row_stride_bytes, const float *x, int k, float *out4) {
  const kvq_kernels kern = kernels_of(type);
  if (!kern.dot) {
    for (int r = 0; r < 4; r++) out4[r] = __builtin_nanf("");
    return;
  }
  kern.dot((const uint8_t *)row, row_stride_bytes, 4, x, k, out4);
}

void kv_row_dot_x4(int type, const void *row, const float *x, int x_stride, int k, float *out4) {
  const kvq_kernels kern = kernels_of(type);
  if (!kern.dotx4) {
    for (int j = 0; j < 4; j++) out4[j] = __builtin_nanf("");
    return;
  }
  kern.dotx4((const uint8_t *)row, x, x_stride, k, out4);
}

void kv_row_decode(int type, const void *row, float *out, int k) {
  const kvq_kernels kern = kernels_of(type);
  if (!kern.decode) {
    for (int i = 0; i < k; i++) out[i] = __builtin_nanf("");
    return;
  }
  kern.decode((const uint8_t *)row, out, k);
}
