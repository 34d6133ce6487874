// matmul: c [M, N] = a [M, K] · b, with b a weight stored as f32, f16, bf16 or a ggml block
// format (quant.h), either [N, K] (transposed, the runtime's layout: a weight row per output
// column) or [K, N] (dense types only). Accumulation is f32; 16-bit and quantized weights are
// decoded exactly (to the values core's decodeHalf/dequantize give) and never copied whole.
//
// Two kernels: a GEMV for decode (M ≤ 8, transposed b), which streams each weight row once and
// keeps four rows' dot products in registers, and a blocked kernel for prefill, which decodes a
// panel of weight rows × a depth chunk into f32 once and reuses it for every row of a.
#include "kv.h"

// out[r] = x · w_r for the four f32 rows w + r·ldw; two accumulators per row hide add latency.
static void dot4_f32(const float *x, const float *w, size_t ldw, int k, float *out) {
  const float *w0 = w, *w1 = w + ldw, *w2 = w + 2 * ldw, *w3 = w + 3 * ldw;
  v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
  v128_t b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  int i = 0;
  for (; i + 8 <= k; i += 8) {
    const v128_t xl = wasm_v128_load(x + i), xh = wasm_v128_load(x + i + 4);
    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(xl, wasm_v128_load(w0 + i)));
    b0 = wasm_f32x4_add(b0, wasm_f32x4_mul(xh, wasm_v128_load(w0 + i + 4)));
    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(xl, wasm_v128_load(w1 + i)));
    b1 = wasm_f32x4_add(b1, wasm_f32x4_mul(xh, wasm_v128_load(w1 + i + 4)));
    a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(xl, wasm_v128_load(w2 + i)));
    b2 = wasm_f32x4_add(b2, wasm_f32x4_mul(xh, wasm_v128_load(w2 + i + 4)));
    a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(xl, wasm_v128_load(w3 + i)));
    b3 = wasm_f32x4_add(b3, wasm_f32x4_mul(xh, wasm_v128_load(w3 + i + 4)));
  }
  float s0 = kv_hsum(wasm_f32x4_add(a0, b0)), s1 = kv_hsum(wasm_f32x4_add(a1, b1));
  float s2 = kv_hsum(wasm_f32x4_add(a2, b2)), s3 = kv_hsum(wasm_f32x4_add(a3, b3));
  for (; i < k; i++) {
    s0 += x[i] * w0[i];
    s1 += x[i] * w1[i];
    s2 += x[i] * w2[i];
    s3 += x[i] * w3[i];
  }
  out[0] = s0, out[1] = s1, out[2] = s2, out[3] = s3;
}

// As dot4_f32 for four 16-bit rows (f16 or bf16, row stride ldw elements), decoded in registers.
static void dot4_half(const float *x, const uint16_t *w, size_t ldw, int k, int type, int finite,
                      float *out) {
  const uint16_t *w0 = w, *w1 = w + ldw, *w2 = w + 2 * ldw, *w3 = w + 3 * ldw;
  v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
  v128_t b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  int i = 0;
  v128_t lo, hi;
  const kv_half hc = kv_half_consts();
#define KV_DOT4_HALF_STEP(load)                             \
  for (; i + 8 <= k; i += 8) {                              \
    const v128_t xl = wasm_v128_load(x + i);                \
    const v128_t xh = wasm_v128_load(x + i + 4);            \
    load(&hc, w0 + i, &lo, &hi);                                 \
    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(xl, lo));        \
    b0 = wasm_f32x4_add(b0, wasm_f32x4_mul(xh, hi));        \
    load(&hc, w1 + i, &lo, &hi);                                 \
    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(xl, lo));        \
    b1 = wasm_f32x4_add(b1, wasm_f32x4_mul(xh, hi));        \
    load(&hc, w2 + i, &lo, &hi);                                 \
    a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(xl, lo));        \
    b2 = wasm_f32x4_add(b2, wasm_f32x4_mul(xh, hi));        \
    load(&hc, w3 + i, &lo, &hi);                                 \
    a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(xl, lo));        \
    b3 = wasm_f32x4_add(b3, wasm_f32x4_mul(xh, hi));        \
  }
  if (type == KV_T_F16 && finite) {
    KV_DOT4_HALF_STEP(kv_load8_f16_finite)
  } else if (type == KV_T_F16) {
    KV_DOT4_HALF_STEP(kv_load8_f16)
  } else {
    KV_DOT4_HALF_STEP(kv_load8_bf16)
  }
#undef KV_DOT4_HALF_STEP
  float s0 = kv_hsum(wasm_f32x4_add(a0, b0)), s1 = kv_hsum(wasm_f32x4_add(a1, b1));
  float s2 = kv_hsum(wasm_f32x4_add(a2, b2)), s3 = kv_hsum(wasm_f32x4_add(a3, b3));
  for (; i < k; i++) {
    s0 += x[i] * kv_load1(w0, type, i);
    s1 += x[i] * kv_load1(w1, type, i);
    s2 += x[i] * kv_load1(w2, type, i);
    s3 += x[i] * kv_load1(w3, type, i);
  }
  out[0] = s0, out[1] = s1, out[2] = s2, out[3] = s3;
}

// GEMV: c [M, N] = a [M, K] · b [N, K]ᵀ for small M. Units: groups of four rows of b (output
// columns 4u … 4u + 3). `type` may carry KV_FINITE: an f16 b known to hold no Inf or NaN. With one row of a, weights are decoded in registers (quantized ones by
// kv_row_dot4 on their blocks); with more, each group is decoded once into scratch (4·K floats)
// and multiplied by every row of a from there.
KV_EXPORT("kv_gemv_bt")
void kv_gemv_bt(const float *a, const uint8_t *b, float *c, int M, int K, int N, int type, int r0, int r1,
                float *scratch) {
  const int finite = (type & KV_FINITE) != 0;
  type &= ~KV_FINITE;
  const size_t stride = kv_stride(type, K);
  const int dense = type == KV_T_F32 || type == KV_T_F16 || type == KV_T_BF16;
  float out[4];
  for (int u = r0; u < r1; u++) {
    const int j0 = 4 * u;
    const int nr = N - j0 < 4 ? N - j0 : 4;
    const uint8_t *rows = b + (size_t)j0 * stride;
    if (nr == 4 && M == 1) {
      if (type == KV_T_F32) dot4_f32(a, (const float *)rows, (size_t)K, K, out);
      else if (dense) dot4_half(a, (const uint16_t *)rows, (size_t)K, K, type, finite, out);
      else kv_row_dot4(type, rows, (int)stride, a, K, out);
      for (int s = 0; s < 4; s++) c[j0 + s] = out[s];
      continue;
    }
    // Several rows of a, or the last partial group: decode once, then f32 dot products.
    const float *w = (const float *)rows;
    if (type != KV_T_F32) {
      for (int s = 0; s < nr; s++) kv_decode(rows + (size_t)s * stride, type, scratch + (size_t)s * K, K);
      w = scratch;
    }
    for (int i = 0; i < M; i++) {
      const float *x = a + (size_t)i * K;
      float *ci = c + (size_t)i * N + j0;
      if (nr == 4) {
        dot4_f32(x, w, (size_t)K, K, ci);
      } else {
        for (int s = 0; s < nr; s++) ci[s] = kv_dot(x, w + (size_t)s * K, K);
      }
    }
  }
}

// c[r·ldc + s] (+)= a_r · b_s over kc for a 4 × 2 tile: eight accumulators, each a and b chunk
// loaded once per step.
static void micro4x2(const float *a, size_t lda, const float *b, size_t ldb, int kc, float *c, size_t ldc,
                     int accumulate) {
  const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda;
  const float *b0 = b, *b1 = b + ldb;
  v128_t c00 = wasm_f32x4_splat(0.0f), c01 = c00, c10 = c00, c11 = c00;
  v128_t c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  int k = 0;
  for (; k + 4 <= kc; k += 4) {
    const v128_t v0 = wasm_v128_load(b0 + k), v1 = wasm_v128_load(b1 + k);
    v128_t x = wasm_v128_load(a0 + k);
    c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(x, v0));
    c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(x, v1));
    x = wasm_v128_load(a1 + k);
    c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(x, v0));
    c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(x, v1));
    x = wasm_v128_load(a2 + k);
    c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(x, v0));
    c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(x, v1));
    x = wasm_v128_load(a3 + k);
    c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(x, v0));
    c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(x, v1));
  }
  float s[8] = {kv_hsum(c00), kv_hsum(c01), kv_hsum(c10), kv_hsum(c11),
                kv_hsum(c20), kv_hsum(c21), kv_hsum(c30), kv_hsum(c31)};
  for (; k < kc; k++) {
    for (int r = 0; r < 4; r++) {
      const float x = a[r * lda + k];
      s[2 * r] += x * b0[k];
      s[2 * r + 1] += x * b1[k];
    }
  }
  for (int r = 0; r < 4; r++) {
    float *cr = c + r * ldc;
    cr[0] = accumulate ? cr[0] + s[2 * r] : s[2 * r];
    cr[1] = accumulate ? cr[1] + s[2 * r + 1] : s[2 * r + 1];
  }
}

// Edges of a panel (the last rows of a, an odd last column): one dot product per output.
static void edge(const float *a, size_t lda, const float *b, size_t ldb, int kc, float *c, size_t ldc, int mr,
                 int nr, int accumulate) {
  for (int r = 0; r < mr; r++) {
    for (int s = 0; s < nr; s++) {
      const float v = kv_dot(a + r * lda, b + s * ldb, kc);
      c[r * ldc + s] = accumulate ? c[r * ldc + s] + v : v;
    }
  }
}

// Blocked matmul. Units: panels of `nb` output columns (rows of bᵀ). For each depth chunk of `kc`
// (a multiple of every block size, so quantized rows split at block boundaries), the panel's
// weights are decoded into scratch (nb·kc floats; f32 rows of a transposed b are read in place)
// and every row of a is multiplied against it in 4 × 2 tiles, summing into c chunk by chunk.
// `bt`: b is [N, K] (any type); else [K, N] (dense types), transposed while packing.
KV_EXPORT("kv_matmul")
void kv_matmul(const float *a, const uint8_t *b, float *c, int M, int K, int N, int type, int bt, int nb, int kc,
               int r0, int r1, float *scratch) {
  const size_t stride = bt ? kv_stride(type, K) : 0;
  for (int p = r0; p < r1; p++) {
    const int j0 = p * nb;
    const int nbp = N - j0 < nb ? N - j0 : nb;
    for (int k0 = 0; k0 < K; k0 += kc) {
      const int kcc = K - k0 < kc ? K - k0 : kc;
      const float *w;
      size_t ldw;
      if (bt && type == KV_T_F32) {
        w = (const float *)b + (size_t)j0 * K + k0;
        ldw = (size_t)K;
      } else if (bt) {
        const size_t skip = type == KV_T_F16 || type == KV_T_BF16 ? (size_t)k0 * 2 : (size_t)kv_row_bytes(type, k0);
        for (int s = 0; s < nbp; s++)
          kv_decode(b + (size_t)(j0 + s) * stride + skip, type, scratch + (size_t)s * kcc, kcc);
        w = scratch;
        ldw = (size_t)kcc;
      } else {
        for (int kk = 0; kk < kcc; kk++) {
          const size_t at = (size_t)(k0 + kk) * N + j0;
          for (int s = 0; s < nbp; s++) scratch[(size_t)s * kcc + kk] = kv_load1(b, type, at + s);
        }
        w = scratch;
        ldw = (size_t)kcc;
      }
      const int acc = k0 > 0;
      int i = 0;
      for (; i + 4 <= M; i += 4) {
        const float *ai = a + (size_t)i * K + k0;
        float *ci = c + (size_t)i * N + j0;
        int s = 0;
        for (; s + 2 <= nbp; s += 2) micro4x2(ai, (size_t)K, w + s * ldw, ldw, kcc, ci + s, (size_t)N, acc);
        if (s < nbp) edge(ai, (size_t)K, w + s * ldw, ldw, kcc, ci + s, (size_t)N, 4, nbp - s, acc);
      }
      if (i < M)
        edge(a + (size_t)i * K + k0, (size_t)K, w, ldw, kcc, c + (size_t)i * N + j0, (size_t)N, M - i, nbp, acc);
    }
  }
}
