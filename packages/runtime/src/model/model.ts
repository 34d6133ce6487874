import {
  type Backend,
  type CompressionMethod,
  type DType,
  entryBytes,
  KV_DTYPES,
  type KVDType,
  METHOD_SPEC,
  type MethodRun,
  type ModelInfo,
  OptionError,
  type Tensor,
  withDecodeBudget,
} from '@kvsieve/core';
import type { TextTokenizer } from '../tokenizer/tokenizer.js';
import { type ModelConfig, ropeInvFreq } from './config.js';
import type { ModelParts } from './parts.js';
import { type PrefillTrack, runPrefill } from './prefill.js';
import { DecodeSession } from './session.js';
import { disposeWeights, type ModelWeights, weightBytes, weightBytesByDtype } from './weights.js';

/** Options of {@link Model.start}. */
export interface StartOptions {
  /** Compression applied to each layer's cache as soon as that layer is complete (and while decoding, if the method says so). */
  readonly method?: CompressionMethod | null;
  /**
   * Keep at most about this many entries per KV head while decoding: the method's prefill
   * selection (or the full cache), then its first tokens and the most recent ones (a sliding
   * budget, core's `withDecodeBudget`).
   */
  readonly decodeBudget?: number;
  /** Prompt tokens per forward chunk (default 256): bounds activation memory. */
  readonly chunkSize?: number;
  /** Called after each prefill layer (for progress bars). */
  readonly onLayer?: (layer: number, numLayers: number) => void;
  /** How the cache stores keys and values: f32 (default) or f16 (half the bytes). */
  readonly kvDtype?: KVDType;
}

/** Options of {@link Model.startShared}: one prompt, several methods, one forward pass. */
export interface StartSharedOptions {
  /** Prompt tokens per forward chunk (default 256). */
  readonly chunkSize?: number;
  /**
   * A method whose decision propagates fewer tokens to deeper layers cannot share the prompt's
   * forward pass. 'throw' (default): a SharedPrefillError at the first such decision, everything
   * disposed. 'skip': that method's session is null and the others carry on; start it alone.
   * Whether a method propagates can depend on the prompt (StructKV only does past its pivot), so it
   * is found out, not declared.
   */
  readonly onPropagate?: 'throw' | 'skip';
  /** Called after each prefill layer (for progress bars). */
  readonly onLayer?: (layer: number, numLayers: number) => void;
  /** How every cache stores keys and values (default f32). */
  readonly kvDtype?: KVDType;
}

/** What {@link Model.startShared} returns: a session per method, and the methods it could not serve. */
export interface SharedStart {
  /** One per method, in order, each equal to a separate `start(ids, { method })`; null where skipped. */
  readonly sessions: readonly (DecodeSession | null)[];
  /** The methods skipped for propagating, with the layer where they first did. */
  readonly skipped: readonly {
    /** The method's index in the list given. */
    readonly index: number;
    /** The method's name. */
    readonly name: string;
    /** The first layer where it asked to propagate. */
    readonly layer: number;
  }[];
}

/** A loaded Llama-family model on one backend. */
export class Model {
  /**
   * The model's shape as compression methods see it (core's `ModelInfo`): layers, heads, KV heads, head size,
   * max positions, its source as `name`, and the sliding window when there is one.
   */
  readonly info: ModelInfo;
  private readonly invFreq: Tensor;
  private disposed = false;

  constructor(
    /** Where the weights live and every op runs. */
    readonly backend: Backend,
    /** Shape and numerics, as read from the model's files. */
    readonly config: ModelConfig,
    private readonly weights: ModelWeights,
    /** The model's tokenizer (tokenizer.json, or the GGUF vocabulary). */
    readonly tokenizer: TextTokenizer,
    /** The file or folder the model came from. */
    readonly source: string,
  ) {
    this.info = {
      numLayers: config.numLayers,
      numHeads: config.numHeads,
      numKvHeads: config.numKvHeads,
      headDim: config.headDim,
      maxPositions: config.maxPositions,
      name: source,
      ...(config.slidingWindow > 0 ? { slidingWindow: config.slidingWindow } : {}),
    };
    this.invFreq = backend.upload(
      ropeInvFreq(config, weights.ropeFactors),
      [config.ropeDim / 2],
      'f32',
      'rope invFreq',
    );
  }

  /** Bytes a full (uncompressed) cache of `dtype` holds for `tokens` tokens, as LayerCache counts them. */
  fullCacheBytes(tokens: number, dtype: KVDType = 'f32'): number {
    const c = this.config;
    return c.numLayers * c.numKvHeads * tokens * entryBytes(c.headDim, dtype);
  }

  /**
   * Prefill the prompt layer by layer, in chunks, compressing each layer's cache as soon as it is
   * complete, and return the session that decodes from it (see {@link DecodeSession}).
   */
  async start(ids: readonly number[], opts: StartOptions = {}): Promise<DecodeSession> {
    const parts = this.parts();
    const kvDtype = checkKvDtype(opts.kvDtype, 'start');
    let method = opts.method ?? null;
    if (method) checkSpec(method, 'start: method');
    if (opts.decodeBudget !== undefined) method = withDecodeBudget(method, { budget: opts.decodeBudget });
    const t0 = performance.now();
    const run = method ? method.begin(this.info, { length: ids.length }) : null;
    const out = await runPrefill(parts, ids, {
      tracks: [{ name: method?.name ?? 'full cache', run }],
      chunkSize: opts.chunkSize ?? 256,
      onPropagate: 'throw',
      ...(opts.onLayer ? { onLayer: opts.onLayer } : {}),
      what: 'start',
      kvDtype,
    });
    const { cache, layers } = out.results[0]!;
    return open(cache, () => ({
      parts,
      cache,
      method,
      run,
      promptTokens: ids.length,
      layers,
      logits: out.logits,
      prefillSeconds: (performance.now() - t0) / 1000,
    }));
  }

  /**
   * Prefill `ids` once for several methods (null: the full cache), each getting its own session
   * equal to what a separate {@link start} with that method gives. Only for methods that do not
   * propagate fewer tokens to deeper layers (see `onPropagate`). Each session's prefill time is its
   * share of the one pass.
   */
  async startShared(
    ids: readonly number[],
    methods: readonly (CompressionMethod | null)[],
    opts: StartSharedOptions = {},
  ): Promise<SharedStart> {
    const parts = this.parts();
    const kvDtype = checkKvDtype(opts.kvDtype, 'startShared');
    const onPropagate = opts.onPropagate ?? 'throw';
    if (onPropagate !== 'throw' && onPropagate !== 'skip') {
      throw new OptionError(`startShared: onPropagate must be 'throw' or 'skip', got ${String(onPropagate)}`);
    }
    if (methods.length === 0)
      throw new OptionError('startShared: no methods; give at least one (null for the full cache)');
    methods.forEach((method, i) => {
      if (method) checkSpec(method, `startShared: method ${i}`);
    });
    const t0 = performance.now();
    const runs: (MethodRun | null)[] = [];
    let out: Awaited<ReturnType<typeof runPrefill>>;
    try {
      for (const method of methods)
        runs.push(method ? method.begin(this.info, { length: ids.length }) : null);
      const tracks: PrefillTrack[] = methods.map((method, i) => ({
        name: method?.name ?? 'full cache',
        run: runs[i]!,
      }));
      out = await runPrefill(parts, ids, {
        tracks,
        chunkSize: opts.chunkSize ?? 256,
        onPropagate,
        ...(opts.onLayer ? { onLayer: opts.onLayer } : {}),
        what: 'startShared',
        kvDtype,
      });
    } catch (e) {
      // The engine ends the runs it was given; these are the ones begun before it ran.
      if (runs.length < methods.length) for (const r of runs) r?.dispose?.();
      throw e;
    }
    const served = out.results.filter((r) => r !== null).length;
    const seconds = (performance.now() - t0) / 1000 / served;
    const sessions: (DecodeSession | null)[] = [];
    try {
      out.results.forEach((r, i) => {
        if (!r) return sessions.push(null);
        sessions.push(
          open(r.cache, () => ({
            parts,
            cache: r.cache,
            method: methods[i] ?? null,
            run: runs[i] ?? null,
            promptTokens: ids.length,
            layers: r.layers,
            logits: Float32Array.from(out.logits),
            prefillSeconds: seconds,
          })),
        );
      });
    } catch (e) {
      for (const s of sessions) s?.dispose();
      out.results.forEach((r, i) => {
        if (r && i >= sessions.length) {
          r.cache.dispose();
          runs[i]?.dispose?.();
        }
      });
      throw e;
    }
    return { sessions, skipped: out.skipped };
  }

  /**
   * Bytes the model's weights hold on its backend: quantized weights as their blocks, 16-bit ones
   * as 16-bit (compare with the file's tensor bytes, e.g. `GgufFile.tensorBytes`).
   */
  weightBytes(): number {
    return weightBytes(this.weights);
  }

  /** {@link weightBytes} split by storage dtype, largest first. */
  weightBytesByDtype(): [DType, number][] {
    return weightBytesByDtype(this.weights);
  }

  /**
   * Frees the weights on the backend. Idempotent; `start` afterwards throws, and sessions still open cannot
   * step. Sessions are disposed separately.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    disposeWeights(this.weights);
    this.invFreq.dispose();
  }

  private parts(): ModelParts {
    if (this.disposed) throw new OptionError(`model ${this.source} was disposed; load it again`);
    return {
      backend: this.backend,
      config: this.config,
      info: this.info,
      weights: this.weights,
      invFreq: this.invFreq,
      source: this.source,
    };
  }
}

function checkKvDtype(dtype: KVDType | undefined, where: string): KVDType {
  if (dtype === undefined) return 'f32';
  if (!KV_DTYPES.includes(dtype)) {
    throw new OptionError(
      `${where}: kvDtype must be one of ${KV_DTYPES.join(', ')}, got ${JSON.stringify(dtype)}`,
    );
  }
  return dtype;
}

function checkSpec(method: CompressionMethod, where: string): void {
  if (method.spec !== METHOD_SPEC) {
    throw new OptionError(
      `${where} (${method.name}) implements ${String(method.spec)}, this runtime knows ${METHOD_SPEC}; install matching versions`,
    );
  }
}

/** A session over a finished prefill; if it cannot be made, the prefill's cache and run are freed. */
function open(
  cache: { dispose(): void },
  init: () => ConstructorParameters<typeof DecodeSession>[0],
): DecodeSession {
  const i = init();
  try {
    return new DecodeSession(i);
  } catch (e) {
    cache.dispose();
    i.run?.dispose?.();
    throw e;
  }
}
