import type { Backend, ReduceOp } from '../backend/backend.js';
import { validateReduceOp } from '../backend/validate.js';
import { OptionError, ShapeError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import type { LayerContext, ModelInfo } from './contract.js';
import { reduceToKvHeads } from './scores.js';

/** What {@link createLayerContext} builds a context from; the caller keeps owning every tensor. */
export interface LayerContextInit {
  /** The backend holding `keys` and the queries; the context computes its scores there. */
  readonly backend: Backend;
  /** The model's shape: `keys` and the queries are checked against it. */
  readonly model: ModelInfo;
  /** Index of the layer, in `[0, model.numLayers)`; anything else throws an `OptionError`. */
  readonly layer: number;
  /** `[kvHeads, n, headDim]`, post-RoPE, f32 or f16: the layer's n tokens. */
  readonly keys: Tensor; // [Hkv, n, d]
  /** `[H, w, d]`; absent when the method observes no window (w = 0). */
  readonly windowQueries?: Tensor;
  /** `[heads, n, headDim]`, every token's post-RoPE queries, for a method that asked for `allQueries`. */
  readonly allQueries?: Tensor; // [H, n, d]
  /** Original token positions of the n tokens (length n, else a `ShapeError`). */
  readonly positions: Int32Array;
}

/**
 * A {@link LayerContext} over tensors the caller owns. Scores it computes are cached and owned by
 * the context: call `release()` once the layer's decision is applied.
 */
export function createLayerContext(init: LayerContextInit): LayerContext & {
  /** Dispose the scores the context computed and cached (not the caller's tensors); safe to call twice. */
  release(): void;
} {
  const { backend, model, layer, keys, windowQueries, allQueries, positions } = init;
  const [Hkv, n] = keys.shape as [number, number];
  const w = windowQueries?.shape[1] ?? 0;
  if (keys.rank !== 3 || Hkv !== model.numKvHeads || keys.shape[2] !== model.headDim) {
    throw new ShapeError(
      `layer ${layer} context: keys must be [${model.numKvHeads}, n, ${model.headDim}], got [${keys.shape.join(', ')}]`,
    );
  }
  if (windowQueries && (windowQueries.rank !== 3 || windowQueries.shape[0] !== model.numHeads || w > n)) {
    throw new ShapeError(
      `layer ${layer} context: window queries must be [${model.numHeads}, w ≤ ${n}, ${model.headDim}], got [${windowQueries.shape.join(', ')}]`,
    );
  }
  if (positions.length !== n)
    throw new ShapeError(`layer ${layer} context: ${positions.length} positions for ${n} tokens`);
  if (layer < 0 || layer >= model.numLayers)
    throw new OptionError(`layer ${layer} is outside [0, ${model.numLayers})`);

  let raw: Tensor | null = null;
  const reduced = new Map<ReduceOp, Tensor>();
  const queries = (): Tensor => {
    if (!windowQueries) {
      throw new OptionError(
        `layer ${layer} context: the method observes no window (observe.window = 0), so there are no window queries or window scores; ask for a window of at least 1`,
      );
    }
    return windowQueries;
  };
  const windowColumnSums = (): Tensor => {
    // The model's own attention: a sliding-window model's queries do not see keys past the window.
    raw ??= backend.attentionColumnSums(
      queries(),
      keys,
      model.slidingWindow ? { slidingWindow: model.slidingWindow } : {},
    );
    return raw;
  };
  return {
    layer,
    numLayers: model.numLayers,
    model,
    backend,
    length: n,
    window: w,
    keys,
    get windowQueries() {
      return queries();
    },
    ...(allQueries ? { allQueries } : {}),
    positions,
    windowColumnSums,
    prefixScores(opts = {}) {
      const reduce = opts.reduce ?? 'mean';
      validateReduceOp('prefixScores', reduce);
      let t = reduced.get(reduce);
      if (!t) {
        t = reduceToKvHeads(backend, windowColumnSums(), Hkv, w, reduce);
        reduced.set(reduce, t);
      }
      return t;
    },
    release() {
      raw?.dispose();
      for (const t of reduced.values()) t.dispose();
      raw = null;
      reduced.clear();
    },
  };
}
