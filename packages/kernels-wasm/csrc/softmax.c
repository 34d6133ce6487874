// softmax over the last dimension, in f32: a row whose entries are all -Infinity (fully masked)
// gives zeros, as the CPU reference.
#include "kv.h"

// Units: rows of n values.
KV_EXPORT("kv_softmax")
void kv_softmax(const float *x, float *out, int n, int r0, int r1, float *scratch) {
  (void)scratch;
  const kv_expc ec = kv_exp_consts();
  for (int r = r0; r < r1; r++) {
    const float *xr = x + (size_t)r * n;
    float *yr = out + (size_t)r * n;
    float m = -__builtin_inff();
    int i = 0;
    v128_t mv = wasm_f32x4_splat(m);
    for (; i + 4 <= n; i += 4) mv = wasm_f32x4_pmax(mv, wasm_v128_load(xr + i));
    for (int l = 0; l < 4; l++) {
      const float v = wasm_f32x4_extract_lane(mv, 0);
      m = v > m ? v : m;
      mv = wasm_i32x4_shuffle(mv, mv, 1, 2, 3, 0);
    }
    for (; i < n; i++) m = xr[i] > m ? xr[i] : m;
    if (m == -__builtin_inff()) {
      for (i = 0; i < n; i++) yr[i] = 0.0f;
      continue;
    }
    const v128_t ms = wasm_f32x4_splat(m);
    v128_t sv = wasm_f32x4_splat(0.0f);
    for (i = 0; i + 4 <= n; i += 4) {
      const v128_t e = kv_exp4(&ec, wasm_f32x4_sub(wasm_v128_load(xr + i), ms));
      wasm_v128_store(yr + i, e);
      sv = wasm_f32x4_add(sv, e);
    }
    float sum = kv_hsum(sv);
    for (; i < n; i++) {
      yr[i] = kv_exp(&ec, xr[i] - m);
      sum += yr[i];
    }
    const v128_t s = wasm_f32x4_splat(sum);
    for (i = 0; i + 4 <= n; i += 4) wasm_v128_store(yr + i, wasm_f32x4_div(wasm_v128_load(yr + i), s));
    for (; i < n; i++) yr[i] /= sum;
  }
}
