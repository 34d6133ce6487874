// Shared helpers of the backend's kernels: exports, f16/bf16 lanes, horizontal sums, exp, sin/cos.
//
// Calling convention of every exported kernel: its own arguments, then `r0, r1, scratch`. The
// kernel computes units [r0, r1) of its parallel dimension (rows, tokens, heads: each kernel says
// which) and may use `scratch`, a private region of the size the TypeScript side asked for. The
// worker pool (src/wasm/pool.ts) splits the units over threads, each with its own scratch; small
// jobs run in one call on the calling thread (src/wasm/dispatch.ts).
#ifndef KVSIEVE_KV_H
#define KVSIEVE_KV_H

#include <stddef.h>
#include <stdint.h>
#include <wasm_simd128.h>

#include "quant.h"

// Until quant.c links in (it is written beside this code), calls to its row functions trap
// instead of failing the link; the TypeScript side checks the exports before using them.
#pragma weak kv_row_dot
#pragma weak kv_row_dot4
#pragma weak kv_row_decode
#pragma weak kv_row_bytes

#define KV_EXPORT(name) __attribute__((export_name(name)))
#define KV_INLINE static inline __attribute__((always_inline))
// Shared between this package's files but not exported from the module.
#define KV_INTERNAL __attribute__((visibility("hidden")))

// Storage codes of dense tensors, the ggml type ids quant.h uses for the same formats.
#define KV_T_F32 0
#define KV_T_F16 1
#define KV_T_BF16 30
// A flag on a type code (kv_gemv_bt): the f16 values are all finite (see kv_load8_f16_finite).
#define KV_FINITE 0x100

KV_INLINE float kv_bits_f32(uint32_t u) {
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}

KV_INLINE uint32_t kv_f32_bits(float f) {
  uint32_t u;
  __builtin_memcpy(&u, &f, 4);
  return u;
}

// V8 materializes every v128.const where it is used (four instructions, inside the loop),
// while LLVM sinks constants next to their uses. Kernels therefore build their constants once
// before a loop and pass them through this barrier, which makes them opaque values that stay in
// registers (or one load away). Measured once on an f16 dot product: 2.2 → 0.4 ns per element.
#define KV_OPAQUE(v) __asm__("" : "+r"(v))

// Constants of the 16-bit float decoders (kv_half_consts).
typedef struct {
  v128_t zero;
  v128_t m16;    // 0x7fff per 16-bit lane: the magnitude bits of an f16
  v128_t lim16;  // 0x7bff per 16-bit lane: the largest finite magnitude
  v128_t fix16;  // 0x7f80 per 16-bit lane: the f32 exponent of Inf/NaN, as an upper half
  v128_t emask;  // 0x8fffe000: an f32's sign and the 15 f16 magnitude bits shifted under it
  v128_t rebias; // 2^112
} kv_half;

KV_INLINE kv_half kv_half_consts(void) {
  kv_half c = {wasm_i32x4_splat(0),          wasm_i16x8_splat(0x7fff),      wasm_i16x8_splat(0x7bff),
               wasm_i16x8_splat(0x7f80),     wasm_i32x4_splat((int)0x8fffe000), wasm_f32x4_splat(0x1p112f)};
  KV_OPAQUE(c.zero);
  KV_OPAQUE(c.m16);
  KV_OPAQUE(c.lim16);
  KV_OPAQUE(c.fix16);
  KV_OPAQUE(c.emask);
  KV_OPAQUE(c.rebias);
  return c;
}

// Eight f16 values at p (any alignment) as two exact f32x4. Each half is interleaved under a zero
// (one unpack: h·2^16, sign at bit 31), shifted right by 3 so the 15 magnitude bits sit under the
// f32 exponent field, and multiplied by 2^112: that rebiases normals and turns subnormals (f32
// denormals, which WebAssembly never flushes) into normals, both exactly. Inf/NaN (f16 exponent
// 31) have their exponent bits set to all ones instead, keeping the payload.
KV_INLINE void kv_load8_f16(const kv_half *c, const uint16_t *p, v128_t *lo, v128_t *hi) {
  const v128_t h = wasm_v128_load(p);
  v128_t l = wasm_i16x8_shuffle(c->zero, h, 0, 8, 1, 9, 2, 10, 3, 11);
  v128_t u = wasm_i16x8_shuffle(c->zero, h, 4, 12, 5, 13, 6, 14, 7, 15);
  l = wasm_f32x4_mul(wasm_v128_and(wasm_i32x4_shr(l, 3), c->emask), c->rebias);
  u = wasm_f32x4_mul(wasm_v128_and(wasm_i32x4_shr(u, 3), c->emask), c->rebias);
  const v128_t fix = wasm_v128_and(wasm_i16x8_gt(wasm_v128_and(h, c->m16), c->lim16), c->fix16);
  *lo = wasm_v128_or(l, wasm_i16x8_shuffle(c->zero, fix, 0, 8, 1, 9, 2, 10, 3, 11));
  *hi = wasm_v128_or(u, wasm_i16x8_shuffle(c->zero, fix, 4, 12, 5, 13, 6, 14, 7, 15));
}

// kv_load8_f16 for values known to be finite (no f16 exponent 31): the same decode without the
// Inf/NaN fix-up, 9 instructions for eight values instead of 16. Weights are checked once
// (kv_f16_finite) and take this path in the GEMV, the decode step's hot loop.
KV_INLINE void kv_load8_f16_finite(const kv_half *c, const uint16_t *p, v128_t *lo, v128_t *hi) {
  const v128_t h = wasm_v128_load(p);
  const v128_t l = wasm_i16x8_shuffle(c->zero, h, 0, 8, 1, 9, 2, 10, 3, 11);
  const v128_t u = wasm_i16x8_shuffle(c->zero, h, 4, 12, 5, 13, 6, 14, 7, 15);
  *lo = wasm_f32x4_mul(wasm_v128_and(wasm_i32x4_shr(l, 3), c->emask), c->rebias);
  *hi = wasm_f32x4_mul(wasm_v128_and(wasm_i32x4_shr(u, 3), c->emask), c->rebias);
}

// bf16 is the top half of an f32: interleaving under a zero is the whole decode, for every bit pattern.
KV_INLINE void kv_load8_bf16(const kv_half *c, const uint16_t *p, v128_t *lo, v128_t *hi) {
  const v128_t h = wasm_v128_load(p);
  *lo = wasm_i16x8_shuffle(c->zero, h, 0, 8, 1, 9, 2, 10, 3, 11);
  *hi = wasm_i16x8_shuffle(c->zero, h, 4, 12, 5, 13, 6, 14, 7, 15);
}

// One f16 value, exactly (the scalar form of kv_load8_f16, for tails).
KV_INLINE float kv_f16(uint16_t h) {
  const uint32_t em = h & 0x7fff;
  const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  if (em >= 0x7c00) return kv_bits_f32(sign | 0x7f800000 | ((em & 0x3ff) << 13));
  return kv_bits_f32(sign | kv_f32_bits(kv_bits_f32(em << 13) * 0x1p112f));
}

KV_INLINE float kv_bf16(uint16_t h) { return kv_bits_f32((uint32_t)h << 16); }

// Element i of a dense float row stored as f32, f16 or bf16.
KV_INLINE float kv_load1(const void *base, int type, size_t i) {
  if (type == KV_T_F32) return ((const float *)base)[i];
  const uint16_t h = ((const uint16_t *)base)[i];
  return type == KV_T_F16 ? kv_f16(h) : kv_bf16(h);
}

// Widens n stored values (f32, f16 or bf16) to f32.
KV_INTERNAL void kv_widen(const void *src, int type, float *dst, size_t n);

// Bytes of a stored weight row of k values (any type quant.h reads), and that row decoded to f32.
KV_INTERNAL size_t kv_stride(int type, int k);
KV_INTERNAL void kv_decode(const uint8_t *row, int type, float *dst, int k);

KV_INLINE float kv_hsum(v128_t v) {
  const v128_t s = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  return wasm_f32x4_extract_lane(wasm_f32x4_add(s, wasm_i32x4_shuffle(s, s, 1, 0, 3, 2)), 0);
}

// Σ a[i]·b[i] over n f32 values, four lanes plus a scalar tail.
KV_INLINE float kv_dot(const float *a, const float *b, int n) {
  v128_t s0 = wasm_f32x4_splat(0.0f);
  v128_t s1 = wasm_f32x4_splat(0.0f);
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
    s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(wasm_v128_load(a + i + 4), wasm_v128_load(b + i + 4)));
  }
  for (; i + 4 <= n; i += 4)
    s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
  float s = kv_hsum(wasm_f32x4_add(s0, s1));
  for (; i < n; i++) s += a[i] * b[i];
  return s;
}

// y[i] += p·x[i] over n f32 values.
KV_INLINE void kv_axpy(float *y, const float *x, float p, int n) {
  const v128_t pv = wasm_f32x4_splat(p);
  int i = 0;
  for (; i + 4 <= n; i += 4)
    wasm_v128_store(y + i, wasm_f32x4_add(wasm_v128_load(y + i), wasm_f32x4_mul(pv, wasm_v128_load(x + i))));
  for (; i < n; i++) y[i] += p * x[i];
}

// Constants of kv_exp4 (see KV_OPAQUE).
typedef struct {
  v128_t hi, lo, log2e, c1, c2, p0, p1, p2, p3, p4, p5, one, bias;
} kv_expc;

KV_INLINE kv_expc kv_exp_consts(void) {
  kv_expc c = {
      wasm_f32x4_splat(89.0f),           wasm_f32x4_splat(-110.0f),        wasm_f32x4_splat(1.44269504088896341f),
      wasm_f32x4_splat(0.693359375f),    wasm_f32x4_splat(-2.12194440e-4f), wasm_f32x4_splat(1.9875691500e-4f),
      wasm_f32x4_splat(1.3981999507e-3f), wasm_f32x4_splat(8.3334519073e-3f), wasm_f32x4_splat(4.1665795894e-2f),
      wasm_f32x4_splat(1.6666665459e-1f), wasm_f32x4_splat(5.0000001201e-1f), wasm_f32x4_splat(1.0f),
      wasm_i32x4_splat(127),
  };
  KV_OPAQUE(c.hi);
  KV_OPAQUE(c.lo);
  KV_OPAQUE(c.log2e);
  KV_OPAQUE(c.c1);
  KV_OPAQUE(c.c2);
  KV_OPAQUE(c.p0);
  KV_OPAQUE(c.p1);
  KV_OPAQUE(c.p2);
  KV_OPAQUE(c.p3);
  KV_OPAQUE(c.p4);
  KV_OPAQUE(c.p5);
  KV_OPAQUE(c.one);
  KV_OPAQUE(c.bias);
  return c;
}

// e^x in four lanes, within a few ulp over the whole f32 range: e^x = 2^n · e^r with n = round(x/ln 2)
// and |r| ≤ ln2/2 (ln 2 split in two so that n·ln2 subtracts exactly), e^r by Cephes's degree-6
// polynomial. 2^n is applied as two factors so that results that underflow to subnormals or
// overflow to infinity round as they should; -Inf gives 0, NaN stays NaN.
KV_INLINE v128_t kv_exp4(const kv_expc *c, v128_t x) {
  x = wasm_f32x4_pmin(x, c->hi); // NaN < 89 is false: NaN passes through
  x = wasm_f32x4_pmax(x, c->lo); // e^-110 is 0 in f32; -Inf clamps here
  const v128_t n = wasm_f32x4_nearest(wasm_f32x4_mul(x, c->log2e));
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, c->c1));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, c->c2));
  v128_t p = c->p0;
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), c->p1);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), c->p2);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), c->p3);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), c->p4);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), c->p5);
  p = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(p, wasm_f32x4_mul(r, r)), r), c->one);
  const v128_t ni = wasm_i32x4_trunc_sat_f32x4(n);
  const v128_t n1 = wasm_i32x4_shr(ni, 1);
  const v128_t n2 = wasm_i32x4_sub(ni, n1);
  const v128_t s1 = wasm_i32x4_shl(wasm_i32x4_add(n1, c->bias), 23);
  const v128_t s2 = wasm_i32x4_shl(wasm_i32x4_add(n2, c->bias), 23);
  return wasm_f32x4_mul(wasm_f32x4_mul(p, s1), s2);
}

// Scalar e^x (tails): the same function on one lane.
KV_INLINE float kv_exp(const kv_expc *c, float x) {
  return wasm_f32x4_extract_lane(kv_exp4(c, wasm_f32x4_splat(x)), 0);
}

// sin and cos of x in double precision: x reduced by π/2 with a three-part constant (exact
// products for |x| < 2^20·π/2, far beyond any rotary angle), then Taylor series on |r| ≤ π/4
// (truncation below 2e-17). Rotary embeddings need this for angles in the tens of thousands.
KV_INTERNAL void kv_sincos(double x, double *s, double *c);

#endif
