import type { DType } from '../dtype/dtype.js';
import type { Shape } from '../tensor/shape.js';
import type { HostArray, Tensor, TensorOwner } from '../tensor/tensor.js';

/** How {@link Backend.pool1d} combines a kernel's values: their mean (padding counted as zeros) or their maximum. */
export type PoolMode = 'avg' | 'max';
/** How {@link Backend.reduceGroups} and {@link Backend.reduceLast} combine values. */
export type ReduceOp = 'sum' | 'mean' | 'max';
/** `half`: rotate pairs (i, i + r/2) as Hugging Face Llama does; `interleaved`: pairs (2i, 2i + 1) as GGML. */
export type RopeStyle = 'half' | 'interleaved';

/** What a backend can do, for callers that choose dtypes or chunk sizes; see {@link Backend.features}. */
export interface BackendFeatures {
  /** The backend computes in f16 natively (WebGPU `shader-f16`). f16 storage works everywhere. */
  readonly shaderF16: boolean;
  /** Largest single tensor in bytes. */
  readonly maxTensorBytes: number;
}

/**
 * Data accepted by {@link Backend.upload}: numbers (converted to `dtype`), raw 16-bit storage, or
 * the block bytes of a quantized dtype.
 */
export type UploadData =
  | Float32Array
  | Int32Array
  | Uint32Array
  | Uint16Array
  | Uint8Array
  | readonly number[];

/**
 * A ragged per-KV-head cache as attention reads it: head `h` owns rows
 * `offsets[h] .. offsets[h] + lengths[h]` of `keys`, `values` and `positions`.
 */
export interface RaggedKV {
  /** Keys `[rows, d]`, post-RoPE, f32 or f16 (the same dtype as `values`); all heads' segments in one tensor. */
  readonly keys: Tensor; // [rows, d]
  /** Values `[rows, d]`, same dtype and row order as `keys`. */
  readonly values: Tensor; // [rows, d]
  /** `i32 [rows]`: each row's original token position, which decides causal (and sliding-window) visibility. */
  readonly positions: Tensor; // i32 [rows], original token positions
  /** `i32 [kvHeads]`: the first row of each KV head's segment. */
  readonly offsets: Tensor; // i32 [kvHeads]
  /** `i32 [kvHeads]`: how many rows from its offset each KV head holds; rows past that are ignored. */
  readonly lengths: Tensor; // i32 [kvHeads]
}

/** Options of the attention ops ({@link Backend.raggedAttention}, {@link Backend.attentionMass}, {@link Backend.attentionColumnSums}). */
export interface AttentionOptions {
  /** Multiplies q·k before the softmax; default 1/√d. */
  readonly scale?: number;
  /**
   * Sliding-window attention (Mistral): a query at position p sees keys at positions in
   * (p − slidingWindow, p] only. 0 or absent: every earlier position (plain causal attention).
   */
  readonly slidingWindow?: number;
}

/** Options of {@link Backend.matmul}. */
export interface MatmulOptions {
  /** `b` is `[N, K]` (a weight as stored: one row per output column); required for quantized `b`. */
  readonly transposeB?: boolean;
  /**
   * An f32 `[M, N]` tensor added to the product: a layer's skip connection, which a GPU backend
   * adds as the product is written instead of in a pass of its own. Not modified.
   */
  readonly residual?: Tensor;
}

/** Options of {@link Backend.matmulMany}. */
export interface MatmulManyOptions {
  /** Multiply `rmsnorm(a, weight, eps)` instead of `a` (a layer's input norm, fused where it can be). */
  readonly rmsnorm?: {
    /** The norm's weight `[K]`, as {@link Backend.rmsnorm} takes it. */
    readonly weight: Tensor;
    /** Added to the mean square before the root, as {@link Backend.rmsnorm} takes it. */
    readonly eps: number;
  };
}

/**
 * The ops the runtime and the compression methods need. Ops return new tensors at once and may run
 * asynchronously; only {@link Backend.read} waits for results. Every backend validates its inputs
 * with the same checks (see `validate.ts`), so they fail with the same errors.
 *
 * Index values (gather/scatter rows, embedding ids, ragged offsets) are range-checked for index
 * tensors uploaded from the host; indices a GPU backend computed itself (e.g. top-k output) cannot
 * be checked without a read-back, so out-of-range rows there are the caller's bug.
 *
 * Layouts: activations are token-major (`[tokens, heads, headDim]`); scoring inputs are head-major
 * (`[heads, tokens, headDim]`), like the cache.
 */
export interface Backend extends TensorOwner {
  /** Short identifier (`'cpu'`, `'wasm'`, `'webgpu'`), used in messages and reports. */
  readonly name: string;
  /** What this backend supports; fixed once the backend is created. */
  readonly features: BackendFeatures;

  /**
   * A tensor holding `data`. Quantized dtypes take the block bytes (a `Uint8Array` whose length
   * matches the `[rows, cols]` shape's whole blocks) and serve only as matmul's transposed `b` and
   * embedding's table; every other op refuses them with a `DTypeError`.
   */
  upload(data: UploadData, shape: Shape, dtype: DType, name?: string): Tensor;
  /** A new tensor of zeros. Dense dtypes only: a quantized dtype throws a `DTypeError` (upload its block bytes instead). */
  zeros(shape: Shape, dtype: DType, name?: string): Tensor;
  /**
   * Copy `t` to a fresh host array, waiting for pending work: floats (f16/bf16 decoded, quantized
   * dequantized) as `Float32Array`, `i32` as `Int32Array`, `u32` as `Uint32Array`. Nothing returned
   * aliases backend memory. Rejects with a `TensorStateError` if `t` was disposed.
   */
  read(t: Tensor): Promise<HostArray>;
  /**
   * Free `t`'s storage, shared with every reshaped view of it; disposing twice is a no-op. Ops return
   * new tensors the caller owns and must dispose.
   */
  dispose(t: Tensor): void;
  /** Resolves when all submitted work has finished. */
  sync(): Promise<void>;
  /** Bytes held by live tensors of this backend (quantized tensors: their block bytes). */
  liveBytes(): number;
  /** Release the backend's device resources (GPU backends); tensors become unusable. Optional. */
  destroy?(): void;

  /**
   * `a [M, K] · b [K, N]`, or `a · bᵀ` for `b [N, K]` with `transposeB`. `b` may be f16/bf16, or
   * a quantized weight (`q4_0` … `q6_k`, `iq4_*`) with `transposeB`: backends read its blocks
   * directly, dequantized exactly as core's `dequantize`, and keep no f32 copy of it. With
   * `residual`, the result is `residual + a · b` (see {@link MatmulOptions}).
   */
  matmul(a: Tensor, b: Tensor, opts?: MatmulOptions): Tensor;
  /**
   * Several products of one input: `a [M, K] · bᵢᵀ` for each weight `bᵢ [Nᵢ, K]` (a layer's Q/K/V
   * or gate/up projections), each equal to `matmul(a, bᵢ, { transposeB: true })` — of
   * `rmsnorm(a, …)` instead of `a` with `opts.rmsnorm`. A GPU backend computes them in one pass
   * where it can, normalising `a` as it reads it. At least one weight.
   */
  matmulMany(a: Tensor, bs: readonly Tensor[], opts?: MatmulManyOptions): Tensor[];
  /**
   * A SwiGLU MLP's hidden activations, `silu(a · gateᵀ) · (a · upᵀ)` for weights `gate, up [I, K]`:
   * `siluMul` of the two `matmulMany` products (of `rmsnorm(a, …)` with `opts.rmsnorm`). A GPU
   * backend computes it in one pass where it can.
   */
  swiglu(a: Tensor, gate: Tensor, up: Tensor, opts?: MatmulManyOptions): Tensor;
  /** Elementwise sum; `b` may also be a vector over the last dimension of `a` (bias). */
  add(a: Tensor, b: Tensor): Tensor;
  /** Elementwise product; `b` may also be a vector over the last dimension of `a`. */
  mul(a: Tensor, b: Tensor): Tensor;
  /** `a · factor`, elementwise, as a new f32 tensor of `a`'s shape (`a` must be f32, rank ≥ 1). */
  scale(a: Tensor, factor: number): Tensor;
  /** Root-mean-square norm over the last dimension of `x [rows, D]`, times `weight [D]`. */
  rmsnorm(x: Tensor, weight: Tensor, eps: number): Tensor;
  /**
   * Rotary embedding of `x [n, heads, d]` at `positions i32 [n]`. The first `2 · invFreq.length`
   * features rotate (angle = position · invFreq[i]); any others pass through.
   */
  rope(x: Tensor, positions: Tensor, invFreq: Tensor, style: RopeStyle): Tensor;
  /** `silu(gate) · up`. */
  siluMul(gate: Tensor, up: Tensor): Tensor;
  /** Softmax over the last dimension, computed in f32. */
  softmax(x: Tensor): Tensor;
  /** Rows `ids i32 [n]` of `table [vocab, D]` as f32 `[n, D]`; the table may be 16-bit or quantized. */
  embedding(table: Tensor, ids: Tensor): Tensor;
  /**
   * Attention of `q [n, H, d]` at `qPositions i32 [n]` over a ragged per-KV-head cache: key row r
   * is visible when `positions[r] ≤ qPositions[i]` (GQA: query head h reads KV head ⌊h·Hkv/H⌋).
   * Serves decode (n = 1) and chunked prefill; a causal mask is positions 0 … m − 1 per head.
   */
  raggedAttention(q: Tensor, kv: RaggedKV, qPositions: Tensor, opts?: AttentionOptions): Tensor;
  /**
   * Attention mass per cache row, for decode-time scores (H2O): `q [n, H, d]` at `qPositions i32 [n]`
   * over a ragged cache, visibility as in {@link Backend.raggedAttention}. Returns f32 `[rows]`: for
   * row r of KV head h, the softmax probability query i of head g puts on r, summed over the n
   * queries and the query heads g that read h. Rows outside every head's live segment are 0.
   */
  attentionMass(q: Tensor, kv: RaggedKV, qPositions: Tensor, opts?: AttentionOptions): Tensor;
  /**
   * Observation-window attention: `q [H, w, d]` are the queries of the last w positions of a
   * length-L sequence, `k [Hkv, L, d]`. Returns f32 `[H, L]`: for each key column, the sum over
   * the w queries of softmax(q·kᵀ·scale) with the causal mask inside the window.
   */
  attentionColumnSums(q: Tensor, k: Tensor, opts?: AttentionOptions): Tensor;
  /** Reduce `x [R, n]` over consecutive groups of `groupSize` rows: `[R / groupSize, n]`. */
  reduceGroups(x: Tensor, groupSize: number, op: ReduceOp): Tensor;
  /** Reduce `x [R, n]` over its last dimension: `[R]`. */
  reduceLast(x: Tensor, op: ReduceOp): Tensor;
  /** 1-D pooling of each row of `x [R, n]`: odd kernel, stride 1, padding kernel//2 (avg counts pads). */
  pool1d(x: Tensor, opts: { kernel: number; mode: PoolMode }): Tensor;
  /** Indices i32 `[R, k]` of each row's k largest values, by score descending, ties to the lower index. */
  topk(x: Tensor, k: number): Tensor;
  /** Rows `rows i32 [n]` of `src [R, ...]`: `[n, ...]`, same dtype. */
  gatherRows(src: Tensor, rows: Tensor): Tensor;
  /**
   * In place: row i of `src [n, ...]` goes to row `rows[i]` of `dst [R, ...]`. `src` has `dst`'s
   * dtype, or is f32 when `dst` is f16 or bf16: each value is then rounded to `dst`'s dtype as it is
   * written (to nearest even, bit for bit as {@link Backend.cast}), so appending f32 projections to a
   * 16-bit cache needs no cast of its own. Any other dtype mismatch throws a `ShapeError`.
   */
  scatterRows(dst: Tensor, rows: Tensor, src: Tensor): void;
  /**
   * `scatterRows(dsts[i], rows, srcs[i])` for every pair, with the same rows (a cache append writes
   * keys, values and positions to the same rows). A GPU backend writes them in one pass where it can.
   * Each pair is checked as scatterRows checks it; a tensor may be the destination of one pair only.
   */
  scatterRowsMany(dsts: readonly Tensor[], rows: Tensor, srcs: readonly Tensor[]): void;
  /** Slice `[start, start + length)` of the last dimension. */
  narrow(x: Tensor, start: number, length: number): Tensor;
  /** `[a, b, c] → [b, a, c]`: between token-major and head-major layouts. */
  transpose01(x: Tensor): Tensor;
  /** Convert between float dtypes (rounding to nearest even). */
  cast(x: Tensor, dtype: DType): Tensor;
}
