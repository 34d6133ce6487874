import type { Backend } from '../backend/backend.js';
import { OptionError } from '../errors.js';
import { type KVDType, LayerCache } from './layer-cache.js';

export interface KVCacheOptions {
  readonly numLayers: number;
  readonly kvHeads: number;
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

  readonly dtype: KVDType;

  layer(l: number): LayerCache {
    const c = this.layers[l];
    if (!c) throw new OptionError(`KVCache: layer ${l} is outside [0, ${this.layers.length})`);
    return c;
  }

  /** Allocated bytes over all layers. */
  bytes(): number {
    return this.layers.reduce((a, c) => a + c.bytes(), 0);
  }

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

  dispose(): void {
    for (const c of this.layers) c.dispose();
  }
}
