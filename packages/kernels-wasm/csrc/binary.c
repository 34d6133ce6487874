// Elementwise ops: add and mul (b the same shape as a, or a vector over a's last dimension, in
// f32, f16 or bf16), scale, and siluMul. Results are the f32 rounding of the exact result, as
// the CPU reference stores them (scale multiplies in f64, as JavaScript does).
#include "kv.h"

// Eight values of b from element i, widened to f32.
KV_INLINE void load8(const kv_half *c, const void *b, int type, size_t i, v128_t *lo, v128_t *hi) {
  if (type == KV_T_F32) {
    *lo = wasm_v128_load((const float *)b + i);
    *hi = wasm_v128_load((const float *)b + i + 4);
  } else if (type == KV_T_F16) {
    kv_load8_f16(c, (const uint16_t *)b + i, lo, hi);
  } else {
    kv_load8_bf16(c, (const uint16_t *)b + i, lo, hi);
  }
}

KV_INLINE v128_t apply(int op, v128_t x, v128_t y) { return op == 0 ? wasm_f32x4_add(x, y) : wasm_f32x4_mul(x, y); }

// out = a (op) b, op 0: add, 1: mul. Units: runs of n elements (the last run may be shorter);
// with bcast, b has n elements and each run starts over at b[0], else b is read at a's index.
KV_EXPORT("kv_binary")
void kv_binary(const float *a, const void *b, int btype, float *out, int total, int n, int bcast, int op, int r0,
               int r1, float *scratch) {
  (void)scratch;
  const kv_half c = kv_half_consts();
  for (int u = r0; u < r1; u++) {
    const size_t start = (size_t)u * n;
    const size_t len = (size_t)total - start < (size_t)n ? (size_t)total - start : (size_t)n;
    const float *x = a + start;
    float *y = out + start;
    const size_t bstart = bcast ? 0 : start;
    size_t i = 0;
    v128_t lo, hi;
    for (; i + 8 <= len; i += 8) {
      load8(&c, b, btype, bstart + i, &lo, &hi);
      wasm_v128_store(y + i, apply(op, wasm_v128_load(x + i), lo));
      wasm_v128_store(y + i + 4, apply(op, wasm_v128_load(x + i + 4), hi));
    }
    for (; i < len; i++) {
      const float v = kv_load1(b, btype, bstart + i);
      y[i] = op == 0 ? x[i] + v : x[i] * v;
    }
  }
}

// out = a · factor, computed in f64 and rounded once to f32 (as the CPU reference's
// `x * factor` on JavaScript numbers). Units: elements.
KV_EXPORT("kv_scale")
void kv_scale(const float *a, float *out, double factor, int r0, int r1, float *scratch) {
  (void)scratch;
  const v128_t f = wasm_f64x2_splat(factor);
  int i = r0;
  for (; i + 4 <= r1; i += 4) {
    const v128_t x = wasm_v128_load(a + i);
    const v128_t lo = wasm_f32x4_demote_f64x2_zero(wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(x), f));
    const v128_t hi = wasm_f32x4_demote_f64x2_zero(
        wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(x, x, 2, 3, 0, 1)), f));
    wasm_v128_store(out + i, wasm_i32x4_shuffle(lo, hi, 0, 1, 4, 5));
  }
  for (; i < r1; i++) out[i] = (float)((double)a[i] * factor);
}

// out = silu(g) · u = g · σ(g) · u. σ is taken from e = e^-|g|, which never overflows: σ(g) is
// 1/(1 + e) for g ≥ 0 and e/(1 + e) below, so large negative g (down to -104, where the result is
// still a normal f32) keep their value instead of g/(1 + e^-g) overflowing to -0. Units: elements.
KV_EXPORT("kv_silu_mul")
void kv_silu_mul(const float *g, const float *u, float *out, int r0, int r1, float *scratch) {
  (void)scratch;
  const kv_expc ec = kv_exp_consts();
  int i = r0;
  for (; i + 4 <= r1; i += 4) {
    const v128_t x = wasm_v128_load(g + i);
    const v128_t e = kv_exp4(&ec, wasm_f32x4_neg(wasm_f32x4_abs(x)));
    const v128_t num = wasm_v128_bitselect(ec.one, e, wasm_f32x4_ge(x, wasm_f32x4_splat(0.0f)));
    const v128_t sig = wasm_f32x4_div(num, wasm_f32x4_add(ec.one, e));
    wasm_v128_store(out + i, wasm_f32x4_mul(wasm_f32x4_mul(x, sig), wasm_v128_load(u + i)));
  }
  for (; i < r1; i++) {
    const float x = g[i];
    const float e = kv_exp(&ec, -__builtin_fabsf(x));
    out[i] = x * ((x >= 0.0f ? 1.0f : e) / (1.0f + e)) * u[i];
  }
}
