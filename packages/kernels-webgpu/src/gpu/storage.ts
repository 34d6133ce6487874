import type { Tensor, TensorStorage } from '@kvsieve/core';
import type { Binding, GpuContext } from './context.js';
import type { ElemKind } from './wgsl.js';

export class GpuStorage implements TensorStorage {
  disposed = false;
  /**
   * A host copy of small index tensors uploaded from the host. It lets gather/scatter/embedding
   * and ragged attention check index values as the CPU backend does, without a GPU read-back.
   * Dropped as soon as the GPU copy changes (scatterRows).
   */
  host: Int32Array | undefined;

  constructor(
    readonly buffer: GPUBuffer,
    readonly byteLength: number,
  ) {}

  get binding(): Binding {
    return { buffer: this.buffer, size: this.byteLength };
  }
}

export type GpuTensor = Tensor<GpuStorage>;

/** What an op wrapper gets from the backend. */
export interface OpEnv {
  readonly ctx: GpuContext;
  /** A new output tensor (checked against the binding limit). */
  out(shape: readonly number[], dtype: Tensor['dtype'], name: string): GpuTensor;
  /** The binding of an input tensor owned by this backend. */
  bind(t: Tensor, op: string): Binding;
  /** How kernels should read a float input of this dtype (native f16 where the device allows). */
  kind(dtype: Tensor['dtype']): ElemKind;
}
