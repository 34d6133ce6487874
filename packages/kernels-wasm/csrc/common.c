// Helpers shared by several kernel files (declared in kv.h, not exported).
#include "kv.h"

KV_INTERNAL void kv_widen(const void *src, int type, float *dst, size_t n) {
  size_t i = 0;
  if (type == KV_T_F32) {
    __builtin_memcpy(dst, src, n * 4);
    return;
  }
  const uint16_t *h = (const uint16_t *)src;
  const kv_half c = kv_half_consts();
  v128_t lo, hi;
  if (type == KV_T_F16) {
    for (; i + 8 <= n; i += 8) {
      kv_load8_f16(&c, h + i, &lo, &hi);
      wasm_v128_store(dst + i, lo);
      wasm_v128_store(dst + i + 4, hi);
    }
    for (; i < n; i++) dst[i] = kv_f16(h[i]);
    return;
  }
  for (; i + 8 <= n; i += 8) {
    kv_load8_bf16(&c, h + i, &lo, &hi);
    wasm_v128_store(dst + i, lo);
    wasm_v128_store(dst + i + 4, hi);
  }
  for (; i < n; i++) dst[i] = kv_bf16(h[i]);
}

KV_INTERNAL size_t kv_stride(int type, int k) {
  if (type == KV_T_F32) return (size_t)k * 4;
  if (type == KV_T_F16 || type == KV_T_BF16) return (size_t)k * 2;
  return (size_t)kv_row_bytes(type, k);
}

KV_INTERNAL void kv_decode(const uint8_t *row, int type, float *dst, int k) {
  if (type == KV_T_F32 || type == KV_T_F16 || type == KV_T_BF16) kv_widen(row, type, dst, (size_t)k);
  else kv_row_decode(type, row, dst, k);
}

// π/2 as three parts (fdlibm's pio2_1, pio2_2, pio2_2t): the first two have 33 significant bits,
// so k times each is exact in double for |k| < 2^20.
#define PIO2_1 1.57079632673412561417e+00
#define PIO2_2 6.07710050630396597660e-11
#define PIO2_2T 2.02226624879595063154e-21
#define TWO_OVER_PI 6.36619772367581382433e-01

KV_INTERNAL void kv_sincos(double x, double *s, double *c) {
  const double k = __builtin_rint(x * TWO_OVER_PI);
  const double r = ((x - k * PIO2_1) - k * PIO2_2) - k * PIO2_2T;
  const double r2 = r * r;
  // Taylor series, Horner form: sin to r^17, cos to r^16 (|r| ≤ π/4: next terms below 2e-17).
  double sp = 1.0 / 355687428096000.0; // 1/17!
  sp = sp * r2 - 1.0 / 1307674368000.0;
  sp = sp * r2 + 1.0 / 6227020800.0;
  sp = sp * r2 - 1.0 / 39916800.0;
  sp = sp * r2 + 1.0 / 362880.0;
  sp = sp * r2 - 1.0 / 5040.0;
  sp = sp * r2 + 1.0 / 120.0;
  sp = sp * r2 - 1.0 / 6.0;
  const double sn = r + r * r2 * sp;
  double cp = 1.0 / 20922789888000.0; // 1/16!
  cp = cp * r2 - 1.0 / 87178291200.0;
  cp = cp * r2 + 1.0 / 479001600.0;
  cp = cp * r2 - 1.0 / 3628800.0;
  cp = cp * r2 + 1.0 / 40320.0;
  cp = cp * r2 - 1.0 / 720.0;
  cp = cp * r2 + 1.0 / 24.0;
  cp = cp * r2 - 0.5;
  const double cs = 1.0 + r2 * cp;
  // x = k·π/2 + r: rotate (sin r, cos r) by the quadrant k mod 4.
  switch ((int)((int64_t)k & 3)) {
    case 0:
      *s = sn;
      *c = cs;
      break;
    case 1:
      *s = cs;
      *c = -sn;
      break;
    case 2:
      *s = -sn;
      *c = -cs;
      break;
    default:
      *s = -cs;
      *c = sn;
      break;
  }
}

// 1 when none of the n f16 values at p is Inf or NaN (exponent bits all ones), else 0: whether a
// weight may take the GEMV's finite-only decode (kv_load8_f16_finite). n counts up to 2^32 - 1.
KV_EXPORT("kv_f16_finite")
int kv_f16_finite(const uint16_t *p, uint32_t n) {
  v128_t e = wasm_i16x8_splat(0x7c00);
  KV_OPAQUE(e);
  v128_t bad = wasm_i16x8_splat(0);
  uint32_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const v128_t a = wasm_i16x8_eq(wasm_v128_and(wasm_v128_load(p + i), e), e);
    const v128_t b = wasm_i16x8_eq(wasm_v128_and(wasm_v128_load(p + i + 8), e), e);
    const v128_t c = wasm_i16x8_eq(wasm_v128_and(wasm_v128_load(p + i + 16), e), e);
    const v128_t d = wasm_i16x8_eq(wasm_v128_and(wasm_v128_load(p + i + 24), e), e);
    bad = wasm_v128_or(bad, wasm_v128_or(wasm_v128_or(a, b), wasm_v128_or(c, d)));
  }
  if (wasm_v128_any_true(bad)) return 0;
  for (; i < n; i++)
    if ((p[i] & 0x7c00) == 0x7c00) return 0;
  return 1;
}
