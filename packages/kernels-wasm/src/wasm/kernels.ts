/** `mt`: atomics over a shared memory (threads); `st`: a plain memory (no cross-origin isolation). */
export type Variant = 'mt' | 'st';

/**
 * What this package needs of a `WebAssembly.Memory`, declared structurally so that the emitted
 * types do not require the DOM library of a Node-only consumer.
 */
export interface MemoryLike {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}

/**
 * The exported C kernels (csrc/*.c). Every one takes its own arguments, then `r0, r1, scratch`: it
 * computes units [r0, r1) of its parallel dimension with a private scratch region (see
 * csrc/kv.h). Pointers are byte offsets into the module's memory.
 */
export const KERNELS = [
  'kv_gemv_bt',
  'kv_matmul',
  'kv_embedding',
  'kv_ragged_attention',
  'kv_ragged_attention_part',
  'kv_attention_merge',
  'kv_attention_mass',
  'kv_attention_column_sums',
  'kv_binary',
  'kv_scale',
  'kv_silu_mul',
  'kv_rmsnorm',
  'kv_rope',
  'kv_softmax',
  'kv_cast',
] as const;

export type KernelName = (typeof KERNELS)[number];

export type Kernel = (...args: number[]) => void;

export type KernelExports = Readonly<Record<KernelName, Kernel>>;

/**
 * The stored-weight row functions of csrc/quant.c (quant.h). A build made before quant.c existed
 * lacks them; quantized weights are then refused with a {@link WasmModuleError}.
 */
export const QUANT_EXPORTS = ['kv_row_dot', 'kv_row_dot4', 'kv_row_decode', 'kv_row_bytes'] as const;
