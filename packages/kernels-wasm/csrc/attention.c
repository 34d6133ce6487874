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

// kv_dot(q, k_j, d) for four rows k_j = k + j·d at once: q is loaded once for the four, and each
// row's sum is formed in kv_dot's order (two accumulators, then the scalar tail), so the results
// are kv_dot's bit for bit.
KV_INLINE void dot4_rows(const float *q, const float *k, int d, float out[4]) {
  const float *k0 = k, *k1 = k + d, *k2 = k + 2 * d, *k3 = k + 3 * d;
  v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
  v128_t b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  int i = 0;
  for (; i + 8 <= d; i += 8) {
    const v128_t ql = wasm_v128_load(q + i), qh = wasm_v128_load(q + i + 4);
    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(ql, wasm_v128_load(k0 + i)));
    b0 = wasm_f32x4_add(b0, wasm_f32x4_mul(qh, wasm_v128_load(k0 + i + 4)));
    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(ql, wasm_v128_load(k1 + i)));
    b1 = wasm_f32x4_add(b1, wasm_f32x4_mul(qh, wasm_v128_load(k1 + i + 4)));
    a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(ql, wasm_v128_load(k2 + i)));
    b2 = wasm_f32x4_add(b2, wasm_f32x4_mul(qh, wasm_v128_load(k2 + i + 4)));
    a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(ql, wasm_v128_load(k3 + i)));
    b3 = wasm_f32x4_add(b3, wasm_f32x4_mul(qh, wasm_v128_load(k3 + i + 4)));
  }
  if (i + 4 <= d) {
    // kv_dot's second loop adds a last group of four into its first accumulator.
    const v128_t ql = wasm_v128_load(q + i);
    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(ql, wasm_v128_load(k0 + i)));
    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(ql, wasm_v128_load(k1 + i)));
    a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(ql, wasm_v128_load(k2 + i)));
    a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(ql, wasm_v128_load(k3 + i)));
    i += 4;
  }
  float s0 = kv_hsum(wasm_f32x4_add(a0, b0)), s1 = kv_hsum(wasm_f32x4_add(a1, b1));
  float s2 = kv_hsum(wasm_f32x4_add(a2, b2)), s3 = kv_hsum(wasm_f32x4_add(a3, b3));
  for (; i < d; i++) {
    s0 += q[i] * k0[i];
    s1 += q[i] * k1[i];
    s2 += q[i] * k2[i];
    s3 += q[i] * k3[i];
  }
  out[0] = s0, out[1] = s1, out[2] = s2, out[3] = s3;
}

// kv_axpy of four rows v + j·d with weights p[0..3] in turn: y is loaded and stored once for the
// four, and each element gets the same four additions in the same order (the same bits).
KV_INLINE void axpy4_rows(float *y, const float *v, const float *p, int d) {
  const v128_t p0 = wasm_f32x4_splat(p[0]), p1 = wasm_f32x4_splat(p[1]);
  const v128_t p2 = wasm_f32x4_splat(p[2]), p3 = wasm_f32x4_splat(p[3]);
  const float *v0 = v, *v1 = v + d, *v2 = v + 2 * d, *v3 = v + 3 * d;
  int c = 0;
  for (; c + 4 <= d; c += 4) {
    v128_t a = wasm_v128_load(y + c);
    a = wasm_f32x4_add(a, wasm_f32x4_mul(p0, wasm_v128_load(v0 + c)));
    a = wasm_f32x4_add(a, wasm_f32x4_mul(p1, wasm_v128_load(v1 + c)));
    a = wasm_f32x4_add(a, wasm_f32x4_mul(p2, wasm_v128_load(v2 + c)));
    a = wasm_f32x4_add(a, wasm_f32x4_mul(p3, wasm_v128_load(v3 + c)));
    wasm_v128_store(y + c, a);
  }
  for (; c < d; c++) y[c] = (((y[c] + p[0] * v0[c]) + p[1] * v1[c]) + p[2] * v2[c]) + p[3] * v3[c];
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
        for (int r = 0; r < KB; r += 4) {
          // Four keys at once where all four are in the block (their visibility is applied below).
          float d4[4];
          if (r + 4 <= nb) dot4_rows(qg, kr + (size_t)r * d, d, d4);
          for (int j = r; j < r + 4; j++) {
            if (j < nb && visible(pos[o + b0 + j], qp, window)) {
              s[j] = (r + 4 <= nb ? d4[j - r] : kv_dot(qg, kr + (size_t)j * d, d)) * scale;
              bm = s[j] > bm ? s[j] : bm;
            } else {
              s[j] = ninf;
            }
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
        int r = 0;
        // Rows of weight 0 (masked, or exp underflowed) are skipped, as one at a time: their
        // values may be anything (0·Inf would be NaN) and adding +0 could flip a -0 sum.
        for (; r + 4 <= nb; r += 4) {
          if (s[r] != 0.0f && s[r + 1] != 0.0f && s[r + 2] != 0.0f && s[r + 3] != 0.0f) {
            axpy4_rows(ag, vr + (size_t)r * d, s + r, d);
          } else {
            for (int j = r; j < r + 4; j++)
              if (s[j] != 0.0f) kv_axpy(ag, vr + (size_t)j * d, s[j], d);
          }
        }
        for (; r < nb; r++)
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
