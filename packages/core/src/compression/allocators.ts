/** What an allocator plans from: one layer of one prompt, after the budget was fitted to it. */
export interface AllocationInput {
  /** Index of the layer being planned, from 0. */
  readonly layer: number;
  /** Layers in the model. */
  readonly numLayers: number;
  /** KV heads of the layer: the length of the array `allocate` returns. */
  readonly kvHeads: number;
  /** Tokens the layer holds (more than `capacity`: a layer that fits is kept whole before asking). */
  readonly length: number;
  /** Tokens per KV head the budget gives this layer, window included. */
  readonly capacity: number;
  /** Observation window kept on top of the prefix budgets (already fitted to the capacity). */
  readonly window: number;
}

/** Decides how many prefix tokens each KV head of a layer keeps (the window is kept on top). */
export interface Allocator {
  /** Short name for reports and messages (e.g. `'uniform'`, `'pyramid'`). */
  readonly name: string;
  /**
   * Called once per prompt (layer 0's input) before any layer runs: throw an OptionError when the
   * allocator cannot serve it, so that a bad setting fails before the prefill's work.
   */
  check?(input: Omit<AllocationInput, 'layer'>): void;
  /** Prefix tokens per KV head for this layer. */
  allocate(input: AllocationInput): Int32Array;
}

/** The same budget for every layer and head (SnapKV): `capacity − window` prefix tokens each. */
export const uniformAllocator: Allocator = {
  name: 'uniform',
  allocate: ({ kvHeads, capacity, window }) => new Int32Array(kvHeads).fill(capacity - window),
};
