// rmsnorm: out = x / sqrt(mean(x²) + eps) · w over the last dimension, w stored as f32, f16 or
// bf16. The sum of squares accumulates in f32 lanes; the inverse root is taken in f64.
#include "kv.h"

// Units: rows of D values.
KV_EXPORT("kv_rmsnorm")
void kv_rmsnorm(const float *x, const void *w, int wtype, float *out, int D, float eps, int r0, int r1,
                float *scratch) {
  (void)scratch;
  const kv_half c = kv_half_consts();
  for (int r = r0; r < r1; r++) {
    const float *xr = x + (size_t)r * D;
    float *yr = out + (size_t)r * D;
    v128_t acc = wasm_f32x4_splat(0.0f);
    int i = 0;
    for (; i + 4 <= D; i += 4) {
      const v128_t v = wasm_v128_load(xr + i);
      acc = wasm_f32x4_add(acc, wasm_f32x4_mul(v, v));
    }
    float ss = kv_hsum(acc);
    for (; i < D; i++) ss += xr[i] * xr[i];
    const float inv = (float)(1.0 / __builtin_sqrt((double)ss / D + (double)eps));
    const v128_t iv = wasm_f32x4_splat(inv);
    i = 0;
    v128_t lo, hi;
    for (; i + 8 <= D; i += 8) {
      if (wtype == KV_T_F32) {
        lo = wasm_v128_load((const float *)w + i);
        hi = wasm_v128_load((const float *)w + i + 4);
      } else if (wtype == KV_T_F16) {
        kv_load8_f16(&c, (const uint16_t *)w + i, &lo, &hi);
      } else {
        kv_load8_bf16(&c, (const uint16_t *)w + i, &lo, &hi);
      }
      wasm_v128_store(yr + i, wasm_f32x4_mul(wasm_f32x4_mul(wasm_v128_load(xr + i), iv), lo));
      wasm_v128_store(yr + i + 4, wasm_f32x4_mul(wasm_f32x4_mul(wasm_v128_load(xr + i + 4), iv), hi));
    }
    for (; i < D; i++) yr[i] = xr[i] * inv * kv_load1(w, wtype, (size_t)i);
  }
}
