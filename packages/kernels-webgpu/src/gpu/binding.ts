/** A buffer as a kernel binds it. */
export interface Binding {
  readonly buffer: GPUBuffer;
  /** Bytes the shader may see; rounded up to 4 here. */
  readonly size: number;
}
