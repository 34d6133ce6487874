// Row kernels over ggml's weight storage types, read in place (no dequantized copy of a weight).
//
// A "row" is k consecutive elements of one stored weight row: whole blocks for the block formats
// (a block never spans two rows, as in ggml), any k for F32/F16/BF16. Weights decode into f32 lanes
// exactly as core's `dequantize` (ggml's dequantize_row_* with its f32 rounding, f16 scales decoded
// exactly, subnormals included) and multiply f32 x in f32 lanes: x is never rounded to 8 bits, so
// dots agree with an f64 dot of the dequantized row to f32 accumulation error.
//
// Pointers need no alignment (blocks of 18, 22, 34, 110 … bytes sit at any offset). Nothing is
// allocated and nothing global is written (a call uses under 1 KiB of the C stack, for unpacked
// block scales): every function is safe to call from several threads on one shared memory, each
// with its own stack.
//
// Cost: the block formats are bound by decoding (unpacking and widening quants to f32), not by
// loads. kv_row_dot4 shares only x between rows, so per row it costs about what kv_row_dot does
// (1.0–1.1x faster; 1.3–1.5x for F32/BF16, which are load-bound); kv_row_dot_x4 shares the
// decoding between four x vectors (1.2–2x per product).
#ifndef KVSIEVE_QUANT_H
#define KVSIEVE_QUANT_H

// Exported from the wasm module under the function's own name; a build that links these into a
// larger module may define KVQ_EXPORT(name) as empty before including this header.
#ifndef KVQ_EXPORT
#if defined(__wasm__)
#define KVQ_EXPORT(name) __attribute__((export_name(name)))
#else
#define KVQ_EXPORT(name)
#endif
#endif

// ggml type ids (enum ggml_type) these kernels read.
enum kv_type {
  KV_F32 = 0,
  KV_F16 = 1,
  KV_Q4_0 = 2,
  KV_Q4_1 = 3,
  KV_Q5_0 = 6,
  KV_Q5_1 = 7,
  KV_Q8_0 = 8,
  KV_Q2_K = 10,
  KV_Q3_K = 11,
  KV_Q4_K = 12,
  KV_Q5_K = 13,
  KV_Q6_K = 14,
  KV_IQ4_NL = 20,
  KV_IQ4_XS = 23,
  KV_BF16 = 30,
};

// Elements per block of `type` (1 for F32/F16/BF16); 0 for a type these kernels do not read.
KVQ_EXPORT("kv_type_block")
int kv_type_block(int type);

// Bytes of a stored row of k elements; -1 if the type is unknown, k < 0, or k is not a whole number
// of blocks. Callers check this once per weight: the row functions below trust their arguments.
KVQ_EXPORT("kv_row_bytes")
int kv_row_bytes(int type, int k);

// Σ_i w[i]·x[i] over one stored row of k elements (f32 accumulation). NaN for an unknown type.
KVQ_EXPORT("kv_row_dot")
float kv_row_dot(int type, const void *row, const float *x, int k);

// out4[r] = kv_row_dot(type, row + r·row_stride_bytes, x, k) for r = 0..3: the GEMV inner kernel,
// each piece of x loaded once for two or four rows. The results are those of kv_row_dot up to
// f32 summation order. NaNs for an unknown type.
KVQ_EXPORT("kv_row_dot4")
void kv_row_dot4(int type, const void *row, int row_stride_bytes, const float *x, int k, float *out4);

// out4[j] = kv_row_dot(type, row, x + j·x_stride, k) for j = 0..3: one row against four vectors
// (x_stride in floats), a prefill/matmul kernel: each block is decoded once for four x rows.
// Results are kv_row_dot's up to f32 summation order.
// NaNs for an unknown type.
KVQ_EXPORT("kv_row_dot_x4")
void kv_row_dot_x4(int type, const void *row, const float *x, int x_stride, int k, float *out4);

// The stored row as f32: exactly the values of ggml's dequantize_row_* (core's `dequantize`), bit
// for bit; F16/BF16 widen exactly. NaNs for an unknown type.
KVQ_EXPORT("kv_row_decode")
void kv_row_decode(int type, const void *row, float *out, int k);

#endif
