// attentionColumnSums: observation-window scores. q [H, w, d] are the queries of the last w
// positions of a length-L sequence, k [Hkv, L, d] (f32 or f16); out [H, L] holds, per key column,
// the sum over the w queries of their softmax probabilities. Keys are addressed by index: query t
// sits at index L − w + t and sees indices up to its own (the last `window` of them with a sliding
// window).
#include "kv.h"

#define KB 32

// Units: query heads (unit h writes row h of out, zeroing it first). Queries are taken tc at a
// time; each block of KB keys is read (f16 decoded) once for the whole chunk. Scratch: tc·L + KB·d
// floats.
KV_EXPORT("kv_attention_column_sums")
void kv_attention_column_sums(const float *q, const uint8_t *k, int ktype, float *out, int H, int w, int Hkv,
                              int L, int d, float scale, int window, int tc, int r0, int r1, float *scratch) {
  const int G = H / Hkv;
  float *sc = scratch;
  float *kbuf = scratch + (size_t)tc * L;
  const kv_expc ec = kv_exp_consts();
  for (int h = r0; h < r1; h++) {
    const size_t kh = (size_t)(h / G) * L;
    float *oh = out + (size_t)h * L;
    for (int j = 0; j < L; j++) oh[j] = 0.0f;
    for (int t0 = 0; t0 < w; t0 += tc) {
      const int nt = w - t0 < tc ? w - t0 : tc;
      // Columns any query of the chunk sees: from the first query's first to the last one's last.
      const int lo = window == 0 || L - w + t0 - window + 1 < 0 ? 0 : L - w + t0 - window + 1;
      const int hi = L - w + t0 + nt - 1;
      for (int b0 = lo; b0 <= hi; b0 += KB) {
        const int nb = hi + 1 - b0 < KB ? hi + 1 - b0 : KB;
        const float *kr;
        if (ktype == KV_T_F32) {
          kr = (const float *)k + (kh + b0) * d;
        } else {
          kv_widen(k + (kh + b0) * d * 2, ktype, kbuf, (size_t)nb * d);
          kr = kbuf;
        }
        for (int t = 0; t < nt; t++) {
          const int last = L - w + t0 + t;
          const int first = window == 0 || last - window + 1 < 0 ? 0 : last - window + 1;
          const float *qt = q + ((size_t)h * w + t0 + t) * d;
          float *s = sc + (size_t)t * L;
          for (int r = 0; r < nb; r++) {
            const int j = b0 + r;
            if (j >= first && j <= last) s[j] = kv_dot(qt, kr + (size_t)r * d, d) * scale;
          }
        }
      }
      for (int t = 0; t < nt; t++) {
        const int last = L - w + t0 + t;
        const int first = window == 0 || last - window + 1 < 0 ? 0 : last - window + 1;
        float *s = sc + (size_t)t * L;
        float m = -__builtin_inff();
        for (int j = first; j <= last; j++) m = s[j] > m ? s[j] : m;
        const v128_t mv = wasm_f32x4_splat(m);
        v128_t sv = wasm_f32x4_splat(0.0f);
        int j = first;
        for (; j + 4 <= last + 1; j += 4) {
          const v128_t p = kv_exp4(&ec, wasm_f32x4_sub(wasm_v128_load(s + j), mv));
          wasm_v128_store(s + j, p);
          sv = wasm_f32x4_add(sv, p);
        }
        float total = kv_hsum(sv);
        for (; j <= last; j++) {
          s[j] = kv_exp(&ec, s[j] - m);
          total += s[j];
        }
        const float inv = 1.0f / total;
        for (j = first; j <= last; j++) oh[j] += s[j] * inv;
      }
    }
  }
}
