// Attention over the ragged per-KV-head cache: KV head h owns rows off[h] … off[h] + len[h] − 1
// of keys/values [rows, d] (f32 or f16) and pos [rows]; a query at position p sees row r when
// pos[r] ≤ p and, with a sliding window, p − pos[r] < window. GQA: query head g·… of KV head h are
// the G = H / Hkv heads h·G … h·G + G − 1.
//
// raggedAttention runs an online softmax over blocks of KB rows: each block's K/V rows are read
// (f16 decoded) once for the G query heads that share them, scores are taken for the block, and the
// running maximum, sum and weighted value sum are rescaled once per block. attentionMass takes
// each (query, head)'s softmax over the head's rows and adds the probabilities to its rows.
#include "kv.h"

#define KB 32

KV_INLINE int visible(int32_t key, int32_t query, int window) {
  return key <= query && (window == 0 || (int64_t)query - key < window);
}

// Rows b0 … b0 + nb − 1 of a head's segment as f32: in place for f32 storage, else decoded into buf.
KV_INLINE const float *block_rows(const uint8_t *base, int type, size_t row0, int nb, int d, float *buf) {
  if (type == KV_T_F32) return (const float *)base + row0 * d;
  kv_widen(base + row0 * d * 2, type, buf, (size_t)nb * d);
  return buf;
}

// Units: (query i, KV head h) pairs, u = i·Hkv + h. Scratch: G·d + G·KB + 2·KB·d + 2·G floats.
KV_EXPORT("kv_ragged_attention")
void kv_ragged_attention(const float *q, const uint8_t *keys, const uint8_t *values, int kvtype,
                         const int32_t *pos, const int32_t *off, const int32_t *len, const int32_t *qpos,
                         float *out, int H, int Hkv, int d, float scale, int window, int r0, int r1,
                         float *scratch) {
  const int G = H / Hkv;
  float *acc = scratch;
  float *sc = acc + (size_t)G * d;
  float *kbuf = sc + (size_t)G * KB;
  float *vbuf = kbuf + (size_t)KB * d;
  float *mx = vbuf + (size_t)KB * d;
  float *sum = mx + G;
  const float ninf = -__builtin_inff();
  const kv_expc ec = kv_exp_consts();
  for (int u = r0; u < r1; u++) {
    const int i = u / Hkv, h = u % Hkv;
    const int32_t qp = qpos[i];
    const size_t o = (size_t)off[h];
    const int L = len[h];
    const float *qh = q + ((size_t)i * H + (size_t)h * G) * d;
    for (size_t j = 0; j < (size_t)G * d; j++) acc[j] = 0.0f;
    for (int g = 0; g < G; g++) mx[g] = ninf, sum[g] = 0.0f;
    for (int b0 = 0; b0 < L; b0 += KB) {
      const int nb = L - b0 < KB ? L - b0 : KB;
      int seen = 0;
      for (int r = 0; r < nb; r++) seen |= visible(pos[o + b0 + r], qp, window);
      if (!seen) continue;
      const float *kr = block_rows(keys, kvtype, o + b0, nb, d, kbuf);
      const float *vr = block_rows(values, kvtype, o + b0, nb, d, vbuf);
      for (int g = 0; g < G; g++) {
        const float *qg = qh + (size_t)g * d;
        float *s = sc + (size_t)g * KB;
        float bm = ninf;
        for (int r = 0; r < KB; r++) {
          if (r < nb && visible(pos[o + b0 + r], qp, window)) {
            s[r] = kv_dot(qg, kr + (size_t)r * d, d) * scale;
            bm = s[r] > bm ? s[r] : bm;
          } else {
            s[r] = ninf;
          }
        }
        const float m = bm > mx[g] ? bm : mx[g];
        if (m == ninf) continue; // no finite score yet: nothing to weigh
        float *ag = acc + (size_t)g * d;
        if (m != mx[g]) {
          const float corr = kv_exp(&ec, mx[g] - m); // 0 on the first visible block (mx = -Inf)
          const v128_t cv = wasm_f32x4_splat(corr);
          int c = 0;
          for (; c + 4 <= d; c += 4) wasm_v128_store(ag + c, wasm_f32x4_mul(wasm_v128_load(ag + c), cv));
          for (; c < d; c++) ag[c] *= corr;
          sum[g] *= corr;
          mx[g] = m;
        }
        const v128_t mv = wasm_f32x4_splat(m);
        v128_t sv = wasm_f32x4_splat(0.0f);
        for (int r = 0; r < KB; r += 4) {
          const v128_t p = kv_exp4(&ec, wasm_f32x4_sub(wasm_v128_load(s + r), mv));
          wasm_v128_store(s + r, p);
          sv = wasm_f32x4_add(sv, p);
        }
        sum[g] += kv_hsum(sv);
        for (int r = 0; r < nb; r++)
          if (s[r] != 0.0f) kv_axpy(ag, vr + (size_t)r * d, s[r], d);
      }
    }
    for (int g = 0; g < G; g++) {
      float *og = out + ((size_t)i * H + (size_t)h * G + g) * d;
      const float *ag = acc + (size_t)g * d;
      const float inv = sum[g] > 0.0f ? 1.0f / sum[g] : 0.0f; // nothing visible: zeros
      for (int c = 0; c < d; c++) og[c] = ag[c] * inv;
    }
  }
}

// Units: KV heads; unit h adds to the rows of its own segment only (out starts zeroed).
// Queries are taken qc (query, head) pairs at a time. Scratch: qc·maxLen + KB·d floats.
KV_EXPORT("kv_attention_mass")
void kv_attention_mass(const float *q, const uint8_t *keys, int kvtype, const int32_t *pos, const int32_t *off,
                       const int32_t *len, const int32_t *qpos, float *out, int n, int H, int Hkv, int d,
                       float scale, int window, int qc, int maxLen, int r0, int r1, float *scratch) {
  const int G = H / Hkv;
  float *sc = scratch;
  float *kbuf = scratch + (size_t)qc * maxLen;
  const float ninf = -__builtin_inff();
  const kv_expc ec = kv_exp_consts();
  for (int h = r0; h < r1; h++) {
    const size_t o = (size_t)off[h];
    const int L = len[h];
    if (L == 0) continue;
    for (int v0 = 0; v0 < n * G; v0 += qc) {
      const int nq = n * G - v0 < qc ? n * G - v0 : qc;
      // Scores of the chunk's (query, head) pairs, key block by key block.
      for (int b0 = 0; b0 < L; b0 += KB) {
        const int nb = L - b0 < KB ? L - b0 : KB;
        const float *kr = block_rows(keys, kvtype, o + b0, nb, d, kbuf);
        for (int v = 0; v < nq; v++) {
          const int i = (v0 + v) / G, g = (v0 + v) % G;
          const float *qv = q + ((size_t)i * H + (size_t)h * G + g) * d;
          float *s = sc + (size_t)v * maxLen + b0;
          for (int r = 0; r < nb; r++)
            s[r] = visible(pos[o + b0 + r], qpos[i], window) ? kv_dot(qv, kr + (size_t)r * d, d) * scale : ninf;
        }
      }
      for (int v = 0; v < nq; v++) {
        float *s = sc + (size_t)v * maxLen;
        float m = ninf;
        for (int r = 0; r < L; r++) m = s[r] > m ? s[r] : m;
        if (m == ninf) continue; // this query sees none of the head's rows
        const v128_t mv = wasm_f32x4_splat(m);
        v128_t sv = wasm_f32x4_splat(0.0f);
        int r = 0;
        for (; r + 4 <= L; r += 4) {
          const v128_t p = kv_exp4(&ec, wasm_f32x4_sub(wasm_v128_load(s + r), mv));
          wasm_v128_store(s + r, p);
          sv = wasm_f32x4_add(sv, p);
        }
        float total = kv_hsum(sv);
        for (; r < L; r++) {
          s[r] = kv_exp(&ec, s[r] - m);
          total += s[r];
        }
        const float inv = 1.0f / total;
        for (r = 0; r < L; r++) out[o + r] += s[r] * inv;
      }
    }
  }
}
