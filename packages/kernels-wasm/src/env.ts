import type { DType, Shape, Tensor, TensorStorage } from '@kvsieve/core';
import type { Dispatcher } from './wasm/dispatch.js';
import type { MemoryViews } from './wasm/views.js';

/** A tensor's bytes in the module's memory: `byteLength` bytes at `ptr` (0 for an empty tensor). */
export class WasmStorage implements TensorStorage {
  disposed = false;
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
  readonly run: Dispatcher['run'];
}
