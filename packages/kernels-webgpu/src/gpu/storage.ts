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

/** Rows `[rowStart, rowStart + rows)` of a 2-D weight, in one buffer of their own. */
export interface RowPart {
  readonly binding: Binding;
  readonly rowStart: number;
  readonly rows: number;
}

/**
 * A 2-D weight larger than one storage binding (a 128K-vocabulary embedding on a 128 MiB-binding
 * adapter), uploaded as consecutive row ranges in separate buffers. Only ops that loop over the
 * parts read it: matmul (as the transposed `b`) and embedding (as the table).
 */
export class SplitStorage implements TensorStorage {
  disposed = false;
  readonly host = undefined;
  readonly byteLength: number;

  constructor(readonly parts: readonly RowPart[]) {
    this.byteLength = parts.reduce((n, p) => n + p.binding.size, 0);
  }
}

export type GpuTensor = Tensor<GpuStorage>;

/** What an op wrapper gets from the backend. */
export interface OpEnv {
  readonly ctx: GpuContext;
  /** A new output tensor (checked against the binding limit). */
  out(shape: readonly number[], dtype: Tensor['dtype'], name: string): GpuTensor;
  /** The binding of an input tensor owned by this backend (never a split weight: that throws). */
  bind(t: Tensor, op: string): Binding;
  /** A 2-D weight's row ranges: one for an ordinary tensor, several for a split one. */
  parts(t: Tensor, op: string): readonly RowPart[];
  /** How kernels should read a float input of this dtype (native f16 where the device allows). */
  kind(dtype: Tensor['dtype']): ElemKind;
}
