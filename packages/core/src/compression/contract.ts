import type { Backend, ReduceOp } from '../backend/backend.js';
import type { Selection } from '../kv-cache/layer-cache.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Version of the compression-method contract. A method states the version it implements; a runtime
 * refuses methods written against a version it does not know, instead of misbehaving.
 */
export const METHOD_SPEC = 'kvsieve.method/v1' as const;
/** The contract version string, `'kvsieve.method/v1'`, as a type: what {@link CompressionMethod.spec} must be. */
export type MethodSpec = typeof METHOD_SPEC;

/** The model shape a method may plan with. */
export interface ModelInfo {
  /** Transformer layers; `LayerContext.layer` runs from 0 to this − 1. */
  readonly numLayers: number;
  /** Query heads per layer (the `heads` of `windowQueries`). */
  readonly numHeads: number;
  /** KV heads per layer (the `kvHeads` of the cache and of `keys`); divides `numHeads` (GQA). */
  readonly numKvHeads: number;
  /** Features per head (`d` of keys, values and queries). */
  readonly headDim: number;
  /** Longest sequence the model handles, in positions (`max_position_embeddings`), when the runtime knows it. */
  readonly maxPositions?: number;
  /** Where the model came from (the runtime passes its file or folder), for messages only. */
  readonly name?: string;
  /** Sliding-window attention of the model (Mistral), in positions; absent or 0: none. */
  readonly slidingWindow?: number;
}

/** The prompt a run is started for, as {@link CompressionMethod.begin} sees it. */
export interface PromptInfo {
  /** Prompt length in tokens. */
  readonly length: number;
}

/** What the runtime must compute for the method during prefill. */
export interface ObserveRequest {
  /**
   * Number of last prompt positions whose queries the method reads (`windowQueries`); 0 for a
   * method that reads none (it still sees every layer).
   */
  readonly window: number;
  /** Also hand over every prompt query of the layer (`allQueries`), e.g. for H2O's column sums. */
  readonly allQueries?: boolean;
  /**
   * After each decode step, hand over each layer's attention mass per cache row
   * (`DecodeContext.attention`), e.g. for H2O's running scores. Costs one extra pass over the cache.
   */
  readonly decodeAttention?: boolean;
  /**
   * Rows per KV head the runtime reserves in every layer once prefill is done, and keeps through
   * decode-time compactions (which then move rows in place), so the cache's allocation stays flat.
   * A method keeping a decode budget asks for budget + slack.
   */
  readonly decodeCapacity?: number;
}

/** Everything a method sees of one layer after its prefill; nothing else of the runtime. */
export interface LayerContext {
  /** Index of this layer, from 0. */
  readonly layer: number;
  /** Layers in the model (`model.numLayers`). */
  readonly numLayers: number;
  /** The model's shape, as given to {@link CompressionMethod.begin}. */
  readonly model: ModelInfo;
  /** The backend holding every tensor here; compute scores on it, and dispose what you create on it. */
  readonly backend: Backend;
  /** Tokens this layer holds (the prompt length, or fewer after structural propagation). */
  readonly length: number;
  /** Observation window length `w` actually used (≤ length). */
  readonly window: number;
  /** `[kvHeads, length, headDim]`, post-RoPE. Owned by the runtime: do not dispose. */
  readonly keys: Tensor;
  /**
   * `[heads, window, headDim]`, post-RoPE queries of the last `window` tokens. Owned by the runtime.
   * Reading it with a window of 0 throws: the method asked for no queries.
   */
  readonly windowQueries: Tensor;
  /** `[heads, length, headDim]` when the method asked for `allQueries`. Owned by the runtime. */
  readonly allQueries?: Tensor;
  /** Original token positions of the `length` tokens. */
  readonly positions: Int32Array;
  /**
   * Observation-window scores reduced to KV heads, `[kvHeads, length − window]` (the window itself
   * is never scored). Computed once per reduction and cached; owned by the context.
   */
  prefixScores(opts?: { readonly reduce?: ReduceOp }): Tensor;
  /** Per-query-head window attention column sums, `[heads, length]`; computed once, owned by the context. */
  windowColumnSums(): Tensor;
}

/** What a method decides for a layer. */
export interface LayerDecision {
  /** Kept entries per KV head (ascending indices into the layer's `length` tokens), or keep everything. */
  readonly keep: Selection | 'all';
  /**
   * Indices of the tokens deeper layers still compute on (structural propagation); default all.
   * Ascending indices into this layer's tokens.
   */
  readonly propagate?: Int32Array;
  /** Why nothing was evicted, or anything else a user should see in the stats. */
  readonly note?: string;
}

/** What a method sees after each generated token when it keeps a decode-time budget. */
export interface DecodeContext {
  /** Decode steps taken so far, this one included: 1 at the first step after prefill. */
  readonly step: number;
  /** Position of the token just generated. */
  readonly position: number;
  /** The backend holding the cache and `attention`. */
  readonly backend: Backend;
  /** Entries held per layer and KV head. */
  readonly lengths: readonly Int32Array[];
  /** First row of each KV head's segment per layer: entry i of head h sits at row `offsets[l][h] + i`. */
  readonly offsets: readonly Int32Array[];
  /**
   * When the run observed `decodeAttention`: per layer, f32 `[rows]` in the layer's row layout, the
   * attention mass the just-decoded token put on each row, summed over the query heads of the row's
   * KV head (the backend's `attentionMass`); 0 outside live segments. Owned by the runtime and
   * disposed when `afterDecodeStep` returns: copy or accumulate, do not keep.
   */
  readonly attention?: readonly Tensor[];
}

/**
 * Per-layer selections to apply after a decode step (null or missing: leave that layer). The runtime
 * applies them with `compact(selection, { keepCapacity: true })`: entry `selection[h][j]` moves to
 * entry j of head h, within the same rows, so per-row state a method keeps can be moved the same way.
 */
export type DecodeDecision = readonly (Selection | null)[];

/** One generation's worth of method state. */
export interface MethodRun {
  /** What the runtime must compute for this run; read once, before prefill starts. */
  readonly observe: ObserveRequest;
  /** Called once per layer during prefill, in layer order, after that layer's cache is complete. */
  afterLayer(ctx: LayerContext): Promise<LayerDecision>;
  /** Called after each decode step, when the method keeps a budget during generation. */
  afterDecodeStep?(ctx: DecodeContext): Promise<DecodeDecision | undefined>;
  /** Release what the run holds on the backend (e.g. running scores); called once generation ends. */
  dispose?(): void;
}

/** What a `methods-*` package exports: a validated, immutable configuration that starts runs. */
export interface CompressionMethod {
  /** The contract version the method implements; a runtime refuses any other. */
  readonly spec: MethodSpec;
  /** The method's registered name (e.g. `'snapkv'`), as reports and the CLI show it. */
  readonly name: string;
  /** The resolved options, defaults included, for reports. */
  readonly options: Readonly<Record<string, unknown>>;
  /** Start a run for one prompt; throws an OptionError if the options cannot serve this prompt. */
  begin(model: ModelInfo, prompt: PromptInfo): MethodRun;
}
