// rope: rotary embedding of x [n, heads, d] at positions [n]; the first 2·half features rotate
// by angle = position · invFreq[i] (rounded to f32, as llama.cpp and the CPU reference), the rest
// pass through. `half` style rotates pairs (i, i + half) (Hugging Face Llama), `interleaved`
// pairs (2i, 2i + 1) (GGML). cos and sin are taken in f64 (kv_sincos) once per token and index.
#include "kv.h"

// Units: tokens. Scratch: 4·half floats (the token's cos and sin, laid out for the style).
KV_EXPORT("kv_rope")
void kv_rope(const float *x, const int32_t *pos, const float *freq, float *out, int heads, int d, int half,
             int interleaved, int r0, int r1, float *scratch) {
  float *cs = scratch;
  float *sn = scratch + 2 * half;
  const int rot = 2 * half;
  for (int t = r0; t < r1; t++) {
    const float p = (float)pos[t];
    for (int i = 0; i < half; i++) {
      double s, c;
      kv_sincos((double)(p * freq[i]), &s, &c);
      if (interleaved) {
        // out[2i] = x[2i]·c − x[2i+1]·s, out[2i+1] = x[2i+1]·c + x[2i]·s: x·cs + swap(x)·sn.
        cs[2 * i] = cs[2 * i + 1] = (float)c;
        sn[2 * i] = (float)-s;
        sn[2 * i + 1] = (float)s;
      } else {
        cs[i] = (float)c;
        sn[i] = (float)s;
      }
    }
    for (int h = 0; h < heads; h++) {
      const size_t base = ((size_t)t * heads + h) * d;
      const float *xr = x + base;
      float *yr = out + base;
      int i = 0;
      if (interleaved) {
        for (; i + 4 <= rot; i += 4) {
          const v128_t v = wasm_v128_load(xr + i);
          const v128_t sw = wasm_i32x4_shuffle(v, v, 1, 0, 3, 2);
          wasm_v128_store(yr + i, wasm_f32x4_add(wasm_f32x4_mul(v, wasm_v128_load(cs + i)),
                                                 wasm_f32x4_mul(sw, wasm_v128_load(sn + i))));
        }
        for (; i < rot; i += 2) {
          yr[i] = xr[i] * cs[i] + xr[i + 1] * sn[i];
          yr[i + 1] = xr[i + 1] * cs[i + 1] + xr[i] * sn[i + 1];
        }
      } else {
        for (; i + 4 <= half; i += 4) {
          const v128_t x0 = wasm_v128_load(xr + i), x1 = wasm_v128_load(xr + i + half);
          const v128_t c = wasm_v128_load(cs + i), s = wasm_v128_load(sn + i);
          wasm_v128_store(yr + i, wasm_f32x4_sub(wasm_f32x4_mul(x0, c), wasm_f32x4_mul(x1, s)));
          wasm_v128_store(yr + i + half, wasm_f32x4_add(wasm_f32x4_mul(x1, c), wasm_f32x4_mul(x0, s)));
        }
        for (; i < half; i++) {
          const float x0 = xr[i], x1 = xr[i + half];
          yr[i] = x0 * cs[i] - x1 * sn[i];
          yr[i + half] = x1 * cs[i] + x0 * sn[i];
        }
      }
      for (i = rot; i < d; i++) yr[i] = xr[i];
    }
  }
}
