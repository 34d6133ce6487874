import type { DType, Shape, Tensor, TensorStorage } from '@kvsieve/core';
import type { Dispatcher } from './wasm/dispatch.js';
import type { MemoryViews } from './wasm/views.js';

/** A tensor's bytes in the module's memory: `byteLength` bytes at `ptr` (0 for an empty tensor). */
export class WasmStorage implements TensorStorage {
  disposed = false;
  /**
   * For f16 tensors: whether every value is finite, found by one scan when a GEMV first reads the
   * tensor as a weight (then decoded without the Inf/NaN fix-up); undefined until then, and again
   * after scatterRows writes into it.
   */
  finite: boolean | undefined = undefined;
  constructor(
    readonly ptr: number,
    readonly byteLength: number,
  ) {}
}

export type WasmTensor = Tensor<WasmStorage>;

/** What an op needs of the backend: outputs, addresses, the memory and the dispatcher. */
export interface OpEnv {
  readonly views: MemoryViews;
  /** A new tensor (uninitialized memory) owned by the backend. */
  out(shape: Shape, dtype: DType, name: string): WasmTensor;
  /** The address of a tensor of this backend (checked to be one). */
  ptr(t: Tensor, op: string): number;
  /** The kernels' storage code of a float or quantized tensor (see wasm/types.ts). */
  type(t: Tensor, op: string): number;
  /** Whether an f16 tensor holds no Inf or NaN (scanned once, remembered on its storage). */
  finiteF16(t: Tensor, op: string): boolean;
  readonly run: Dispatcher['run'];
  /** Working memory for one op (not a tensor, not in liveBytes): its address; free it with `free`. */
  alloc(bytes: number, what: string): number;
  free(ptr: number): void;
}
