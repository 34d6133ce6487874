// embedding: out [n, D] = rows ids[i] of a table [vocab, D] stored as f32, f16, bf16 or a ggml
// block format, decoded exactly (quantized rows by quant.h's kv_row_decode).
#include "kv.h"

// Units: ids. The ids were range-checked on the TypeScript side.
KV_EXPORT("kv_embedding")
void kv_embedding(const uint8_t *table, const int32_t *ids, float *out, int D, int type, int r0, int r1,
                  float *scratch) {
  (void)scratch;
  const size_t stride = kv_stride(type, D);
  for (int i = r0; i < r1; i++) kv_decode(table + (size_t)ids[i] * stride, type, out + (size_t)i * D, D);
}
