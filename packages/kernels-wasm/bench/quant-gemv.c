// Benchmark driver for the stored-weight row kernels: a GEMV repeated inside wasm, so the timing
// holds no JS-to-wasm call per row.
#include "quant.h"

// out[r] = row r · x for `rows` rows of `row_bytes`, `reps` times. mode 0: kv_row_dot per row;
// mode 1: kv_row_dot4 per four rows (kv_row_dot for a remainder); mode 2: kv_row_decode per row
// into out_rows (the cost of a dequantized copy, for comparison); mode 3: kv_row_dot_x4 per row
// against x and three more vectors after it (k floats apart), into out[4r .. 4r + 3].
KVQ_EXPORT("bench_gemv")
void bench_gemv(int type, const unsigned char *w, int rows, int row_bytes, const float *x, int k, float *out,
                int mode, int reps, float *out_rows) {
  for (int rep = 0; rep < reps; rep++) {
    int r = 0;
    if (mode == 1)
      for (; r + 4 <= rows; r += 4) kv_row_dot4(type, w + r * row_bytes, row_bytes, x, k, out + r);
    if (mode == 2)
      for (; r < rows; r++) kv_row_decode(type, w + r * row_bytes, out_rows, k);
    if (mode == 3)
      for (; r < rows; r++) kv_row_dot_x4(type, w + r * row_bytes, x, k, k, out + 4 * r);
    for (; r < rows; r++) out[r] = kv_row_dot(type, w + r * row_bytes, x, k);
  }
}
