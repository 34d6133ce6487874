import type { Backend } from '../backend/backend.js';
import { OptionError } from '../errors.js';
import { type KVDType, LayerCache } from './layer-cache.js';

/** Shape and storage of a {@link KVCache}; each count must be a positive integer, else an `OptionError`. */
export interface KVCacheOptions {
  /** Layers in the model: one {@link LayerCache} each. */
  readonly numLayers: number;
  /** KV heads per layer. */
  readonly kvHeads: number;
  /** Features per key and value (`d`). */
  readonly headDim: number;
  /** Rows added per head when an append overflows a head's capacity (default 64). */
  readonly growBy?: number;
  /** How keys and values are stored (default f32). */
  readonly dtype?: KVDType;
}

function positiveInt(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1)
    throw new OptionError(`KVCache: ${name} must be a positive integer, got ${value}`);
}

/** The KV cache of a whole model: one {@link LayerCache} per layer, ragged per KV head. */
export class KVCache {
  /** The per-layer caches, index = layer; see also {@link KVCache.layer}, which checks the index. */
  readonly layers: readonly LayerCache[];

  constructor(backend: Backend, opts: KVCacheOptions) {
    positiveInt(opts.numLayers, 'numLayers');
    positiveInt(opts.kvHeads, 'kvHeads');
    positiveInt(opts.headDim, 'headDim');
    const growBy = opts.growBy ?? 64;
    positiveInt(growBy, 'growBy');
    this.layers = Array.from(
      { length: opts.numLayers },
      (_, l) => new LayerCache(backend, l, opts.kvHeads, opts.headDim, growBy, opts.dtype ?? 'f32'),
    );
    this.dtype = opts.dtype ?? 'f32';
  }

  /** How keys and values are stored in every layer (`f32` unless the options said `f16`). */
  readonly dtype: KVDType;

  /** Layer `l`'s cache; throws an `OptionError` when `l` is outside `[0, numLayers)`. */
  layer(l: number): LayerCache {
    const c = this.layers[l];
    if (!c) throw new OptionError(`KVCache: layer ${l} is outside [0, ${this.layers.length})`);
    return c;
  }

  /** Allocated bytes over all layers. */
  bytes(): number {
    return this.layers.reduce((a, c) => a + c.bytes(), 0);
  }

  /** Bytes of the entries actually held over all layers (see {@link LayerCache.usedBytes}); ≤ {@link KVCache.bytes}. */
  usedBytes(): number {
    return this.layers.reduce((a, c) => a + c.usedBytes(), 0);
  }

  /** Entries per layer and KV head. */
  lengths(): Int32Array[] {
    return this.layers.map((c) => c.lengths());
  }

  /** First row of each KV head's segment, per layer (the row layout of each layer's view). */
  rowOffsets(): Int32Array[] {
    return this.layers.map((c) => c.rowOffsets());
  }

  /** Free every layer's tensors on the backend. The cache stays usable: its layers are empty afterwards. */
  dispose(): void {
    for (const c of this.layers) c.dispose();
  }
}
