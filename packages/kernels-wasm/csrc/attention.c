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

// What the attention kernels share: their arguments, and a unit's working space in scratch.
typedef struct {
  const float *q;
  const uint8_t *keys, *values;
  int kvtype;
  const int32_t *pos, *off, *len, *qpos;
  int H, Hkv, G, d, window;
  float scale;
  float *sc, *kbuf, *vbuf; // G·KB scores, KB·d keys and values decoded
} attn_ctx;

// The online softmax of query i's G heads of KV head h over rows [k0, k1) of the head's segment
// (k0 a multiple of KB), continuing the state acc [G·d] (unnormalized), mx [G] and sum [G].
static void attend(const attn_ctx *c, int i, int h, int k0, int k1, float *acc, float *mx, float *sum) {
  const int G = c->G, d = c->d, window = c->window;
  const int32_t qp = c->qpos[i];
  const size_t o = (size_t)c->off[h];
  const int32_t *pos = c->pos;
  const float *qh = c->q + ((size_t)i * c->H + (size_t)h * G) * d;
  const float ninf = -__builtin_inff();
  const kv_expc ec = kv_exp_consts();
  for (int b0 = k0; b0 < k1; b0 += KB) {
    const int nb = k1 - b0 < KB ? k1 - b0 : KB;
    int seen = 0;
    for (int r = 0; r < nb; r++) seen |= visible(pos[o + b0 + r], qp, window);
    if (!seen) continue;
    const float *kr = block_rows(c->keys, c->kvtype, o + b0, nb, d, c->kbuf);
    const float *vr = block_rows(c->values, c->kvtype, o + b0, nb, d, c->vbuf);
    for (int g = 0; g < G; g++) {
      const float *qg = qh + (size_t)g * d;
      float *s = c->sc + (size_t)g * KB;
      float bm = ninf;
      for (int r = 0; r < KB; r += 4) {
        // Four keys at once where all four are in the block (their visibility is applied below).
        float d4[4];
        if (r + 4 <= nb) dot4_rows(qg, kr + (size_t)r * d, d, d4);
        for (int j = r; j < r + 4; j++) {
          if (j < nb && visible(pos[o + b0 + j], qp, window)) {
            s[j] = (r + 4 <= nb ? d4[j - r] : kv_dot(qg, kr + (size_t)j * d, d)) * c->scale;
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
        int e = 0;
        for (; e + 4 <= d; e += 4) wasm_v128_store(ag + e, wasm_f32x4_mul(wasm_v128_load(ag + e), cv));
        for (; e < d; e++) ag[e] *= corr;
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
}

// A fresh softmax state for G heads: acc 0, max -Inf, sum 0.
static void attend_init(float *acc, float *mx, float *sum, int G, int d) {
  for (size_t j = 0; j < (size_t)G * d; j++) acc[j] = 0.0f;
  for (int g = 0; g < G; g++) mx[g] = -__builtin_inff(), sum[g] = 0.0f;
}

// Scratch of one unit: the working space (G·KB + 2·KB·d floats) after `state` floats of state.
static attn_ctx attn_ctx_of(const float *q, const uint8_t *keys, const uint8_t *values, int kvtype,
                            const int32_t *pos, const int32_t *off, const int32_t *len, const int32_t *qpos,
                            int H, int Hkv, int d, float scale, int window, float *work) {
  const int G = H / Hkv;
  attn_ctx c = {q, keys, values, kvtype, pos, off, len, qpos, H, Hkv, G, d, window, scale, 0, 0, 0};
  c.sc = work;
  c.kbuf = c.sc + (size_t)G * KB;
  c.vbuf = c.kbuf + (size_t)KB * d;
  return c;
}

// Units: (query i, KV head h) pairs, u = i·Hkv + h. Scratch: G·d + G·KB + 2·KB·d + 2·G floats.
KV_EXPORT("kv_ragged_attention")
void kv_ragged_attention(const float *q, const uint8_t *keys, const uint8_t *values, int kvtype,
                         const int32_t *pos, const int32_t *off, const int32_t *len, const int32_t *qpos,
                         float *out, int H, int Hkv, int d, float scale, int window, int r0, int r1,
                         float *scratch) {
  const int G = H / Hkv;
  float *acc = scratch, *mx = acc + (size_t)G * d, *sum = mx + G;
  const attn_ctx c = attn_ctx_of(q, keys, values, kvtype, pos, off, len, qpos, H, Hkv, d, scale, window, sum + G);
  for (int u = r0; u < r1; u++) {
    const int i = u / Hkv, h = u % Hkv;
    attend_init(acc, mx, sum, G, d);
    attend(&c, i, h, 0, len[h], acc, mx, sum);
    for (int g = 0; g < G; g++) {
      float *og = out + ((size_t)i * H + (size_t)h * G + g) * d;
      const float *ag = acc + (size_t)g * d;
      const float inv = sum[g] > 0.0f ? 1.0f / sum[g] : 0.0f; // nothing visible: zeros
      for (int e = 0; e < d; e++) og[e] = ag[e] * inv;
    }
  }
}

// Split over keys, for decode steps with fewer (query, KV head) pairs than threads: units are
// (pair, chunk) triples u = (i·Hkv + h)·chunks + c, chunk c covering rows [c·span, (c+1)·span) of
// the head's segment (span a multiple of KB). Each writes its state, G·d accumulators then G
// maxima and G sums, to part + u·G·(d + 2); kv_attention_merge combines them. Scratch:
// G·KB + 2·KB·d floats.
KV_EXPORT("kv_ragged_attention_part")
void kv_ragged_attention_part(const float *q, const uint8_t *keys, const uint8_t *values, int kvtype,
                              const int32_t *pos, const int32_t *off, const int32_t *len, const int32_t *qpos,
                              float *part, int H, int Hkv, int d, float scale, int window, int chunks, int span,
                              int r0, int r1, float *scratch) {
  const int G = H / Hkv;
  const attn_ctx c = attn_ctx_of(q, keys, values, kvtype, pos, off, len, qpos, H, Hkv, d, scale, window, scratch);
  for (int u = r0; u < r1; u++) {
    const int pair = u / chunks, ch = u % chunks;
    const int i = pair / Hkv, h = pair % Hkv;
    float *acc = part + (size_t)u * G * (d + 2), *mx = acc + (size_t)G * d, *sum = mx + G;
    attend_init(acc, mx, sum, G, d);
    const int k0 = ch * span, k1 = k0 + span < len[h] ? k0 + span : len[h];
    if (k0 < k1) attend(&c, i, h, k0, k1, acc, mx, sum);
  }
}

// The output of each (query, KV head) pair u from its `chunks` states (kv_ragged_attention_part):
// each chunk's sum and accumulators rescaled to the largest maximum, added in chunk order, then
// divided. Units: pairs. No scratch.
KV_EXPORT("kv_attention_merge")
void kv_attention_merge(const float *part, float *out, int H, int Hkv, int d, int chunks, int r0, int r1,
                        float *scratch) {
  (void)scratch;
  const int G = H / Hkv;
  const float ninf = -__builtin_inff();
  const kv_expc ec = kv_exp_consts();
  const size_t state = (size_t)G * (d + 2);
  for (int u = r0; u < r1; u++) {
    const int i = u / Hkv, h = u % Hkv;
    const float *first = part + (size_t)u * chunks * state;
    for (int g = 0; g < G; g++) {
      float m = ninf;
      for (int ch = 0; ch < chunks; ch++) {
        const float mc = first[ch * state + (size_t)G * d + g];
        m = mc > m ? mc : m;
      }
      float *og = out + ((size_t)i * H + (size_t)h * G + g) * d;
      for (int e = 0; e < d; e++) og[e] = 0.0f;
      if (m == ninf) continue; // nothing visible: zeros
      float total = 0.0f;
      for (int ch = 0; ch < chunks; ch++) {
        const float *st = first + ch * state;
        const float mc = st[(size_t)G * d + g];
        if (mc == ninf) continue;
        const float w = kv_exp(&ec, mc - m);
        total += st[(size_t)G * d + G + g] * w;
        kv_axpy(og, st + (size_t)g * d, w, d);
      }
      const float inv = total > 0.0f ? 1.0f / total : 0.0f;
      for (int e = 0; e < d; e++) og[e] *= inv;
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
