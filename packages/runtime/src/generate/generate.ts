import { type CompressionMethod, type KVDType, OptionError } from '@kvsieve/core';
import type { Model } from '../model/model.js';
import type { LayerStats } from '../model/prefill.js';
import { createSampler, type SamplingOptions } from './sampler.js';
import { StopStringFilter } from './stops.js';

/**
 * Options of {@link generate}: sampling (greedy by default), when to stop, and how the cache is compressed
 * and stored.
 */
export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate at most (default 128). */
  readonly maxTokens?: number;
  /** Stop when the text contains one of these; the stop string itself is not emitted. */
  readonly stop?: readonly string[];
  /** Stop at these ids; default the tokenizer's end-of-sequence ids. */
  readonly stopTokens?: readonly number[];
  /** Compression applied layer by layer during prefill (and after decode steps if the method asks). */
  readonly method?: CompressionMethod | null;
  /** Keep at most about this many entries per KV head while generating (a sliding budget around the method). */
  readonly decodeBudget?: number;
  /** How the cache stores keys and values: f32 (default) or f16. */
  readonly kvDtype?: KVDType;
  /** Prompt tokens per prefill chunk (default 256). */
  readonly chunkSize?: number;
  /** Add the tokenizer's special tokens (BOS) to a text prompt (default true). */
  readonly addSpecial?: boolean;
  /** Called after each prefill layer. */
  readonly onPrefillLayer?: (layer: number, numLayers: number) => void;
}

/** Measurements taken as a token is yielded. */
export interface StepStats {
  /** Position of this token in the sequence. */
  readonly position: number;
  /** Seconds this token took (the first includes nothing of prefill). */
  readonly seconds: number;
  /** Decode tokens per second so far. */
  readonly tokensPerSecond: number;
  /** Bytes of entries held per layer (keys, values, positions). */
  readonly cacheBytes: readonly number[];
  /** Bytes the cache has allocated over all layers, rows reserved for growth included. */
  readonly cacheAllocatedBytes: number;
}

/** One token as {@link generate} streams it. */
export interface GeneratedToken {
  /** The token id. */
  readonly token: number;
  /**
   * New text this token completes (may be empty while a character or stop string is pending; text
   * still pending when a stop token ends the run is only in the summary's `text`).
   */
  readonly text: string;
  /** 0-based index among the generated tokens. */
  readonly step: number;
  /** Timing and cache size at this token. */
  readonly stats: StepStats;
}

/**
 * Why generation ended: `maxTokens` generated, a stop token (EOS by default) sampled (not emitted), a stop
 * string appeared in the text, or the sequence reached the model's `maxPositions`.
 */
export type StopReason = 'maxTokens' | 'stopToken' | 'stopString' | 'maxPositions';

/**
 * What {@link generate}'s iterator returns when it finishes: the whole output, timings and the cache's real
 * size.
 */
export interface GenerationSummary {
  /** Tokens of the prompt (BOS included when it was added). */
  readonly promptTokens: number;
  /** Tokens generated, a stop token excluded. */
  readonly generatedTokens: number;
  /** The generated ids, a stop token excluded. */
  readonly tokens: readonly number[];
  /** The generated text, cut before a stop string. */
  readonly text: string;
  /** Why generation ended. */
  readonly stopReason: StopReason;
  /** The prompt's forward pass. */
  readonly prefill: {
    /** Wall-clock seconds of the prefill, compression included. */
    readonly seconds: number;
    /** Prompt tokens per second. */
    readonly tokensPerSecond: number;
    /** What compression did to each layer's cache. */
    readonly layers: readonly LayerStats[];
  };
  /**
   * Decoding, from the first generated token on (that one comes from prefill's logits).
   * @property __type.seconds Wall-clock seconds spent producing tokens, sampling and stop checks included.
   * @property __type.tokensPerSecond Generated tokens per second of `seconds` (0 when none was timed).
   */
  readonly decode: { readonly seconds: number; readonly tokensPerSecond: number };
  /** Bytes a full cache would hold for the same tokens, and bytes actually kept (in the cache's dtype). */
  readonly cache: {
    /** How the cache stored keys and values (`'f32'` or `'f16'`). */
    readonly dtype: KVDType;
    /**
     * Bytes an uncompressed cache of the same dtype would hold for the prompt and every generated token that
     * entered it.
     */
    readonly fullBytes: number;
    /** Bytes the cache actually holds at the end (keys, values, positions), summed over layers. */
    readonly keptBytes: number;
    /** `keptBytes` per layer, layer 0 first. */
    readonly perLayer: readonly number[];
  };
}

/**
 * Generate from a prompt, streaming tokens as an async iterator; the iterator's return value is
 * the run's summary. The cache lives only inside the iteration and is freed when it ends or the
 * consumer stops early.
 */
export async function* generate(
  model: Model,
  prompt: string | readonly number[],
  opts: GenerateOptions = {},
): AsyncGenerator<GeneratedToken, GenerationSummary, void> {
  const maxTokens = opts.maxTokens ?? 128;
  if (!Number.isInteger(maxTokens) || maxTokens < 1)
    throw new OptionError(`maxTokens must be a positive integer, got ${opts.maxTokens}`);
  const stops = opts.stop ?? [];
  if (stops.some((s) => typeof s !== 'string' || s.length === 0))
    throw new OptionError('stop strings must be non-empty strings');
  const sample = createSampler(opts);
  const tok = model.tokenizer;
  const ids =
    typeof prompt === 'string' ? tok.encode(prompt, { addSpecial: opts.addSpecial ?? true }) : [...prompt];
  if (ids.length === 0 || (typeof prompt === 'string' && prompt.length === 0)) {
    throw new OptionError('generate: the prompt is empty; give some text or token ids');
  }
  const stopTokens = new Set(opts.stopTokens ?? tok.eosIds);
  const session = await model.start(ids, {
    ...(opts.method ? { method: opts.method } : {}),
    ...(opts.decodeBudget !== undefined ? { decodeBudget: opts.decodeBudget } : {}),
    ...(opts.kvDtype ? { kvDtype: opts.kvDtype } : {}),
    ...(opts.chunkSize ? { chunkSize: opts.chunkSize } : {}),
    ...(opts.onPrefillLayer ? { onLayer: opts.onPrefillLayer } : {}),
  });
  const filter = new StopStringFilter(stops);
  const out: number[] = [];
  let text = '';
  let logits = session.logits;
  const greedy = (opts.temperature ?? 0) === 0;
  const candidates = opts.topK ?? 0;
  let next = -1;
  let stopReason: StopReason = 'maxTokens';
  let decodeSeconds = 0;
  try {
    for (let step = 0; step < maxTokens; step++) {
      const ts = performance.now();
      const position = ids.length + out.length;
      if (step > 0) {
        if (position > model.config.maxPositions) {
          stopReason = 'maxPositions';
          break;
        }
        // Greedy picks on the device (one integer read back per step); with top-k the device picks
        // the candidates and the host draws from them (2·k numbers); else all logits come back.
        const readout = greedy ? 'argmax' : candidates > 0 ? 'top' : 'logits';
        const r = await session.step(out[out.length - 1]!, { readout, k: candidates });
        if (greedy) next = r.token!;
        else if (r.top) next = sample.fromCandidates(r.top.ids, r.top.logits);
        else logits = r.logits!;
      }
      const token = step > 0 && (greedy || candidates > 0) ? next : sample(logits);
      if (stopTokens.has(token)) {
        stopReason = 'stopToken';
        break;
      }
      out.push(token);
      const full = tok.decode(out);
      const pushed = filter.push(full);
      const { stopped } = pushed;
      // The last step also releases what was held back (an incomplete character at the end).
      const delta = !stopped && step === maxTokens - 1 ? pushed.text + filter.flush(full) : pushed.text;
      text += delta;
      const seconds = (performance.now() - ts) / 1000;
      decodeSeconds += seconds;
      yield {
        token,
        text: delta,
        step,
        stats: {
          position,
          seconds,
          tokensPerSecond: out.length / decodeSeconds,
          cacheBytes: session.cache.layers.map((c) => c.usedBytes()),
          cacheAllocatedBytes: session.allocatedBytes(),
        },
      };
      if (stopped) {
        stopReason = 'stopString';
        break;
      }
    }
    if (stopReason !== 'stopString') text += filter.flush(tok.decode(out));
    const perLayer = session.cache.layers.map((c) => c.usedBytes());
    return {
      promptTokens: ids.length,
      generatedTokens: out.length,
      tokens: out,
      text,
      stopReason,
      prefill: {
        seconds: session.prefillSeconds,
        tokensPerSecond: ids.length / session.prefillSeconds,
        layers: session.layers,
      },
      decode: { seconds: decodeSeconds, tokensPerSecond: decodeSeconds > 0 ? out.length / decodeSeconds : 0 },
      cache: {
        dtype: session.cache.dtype,
        fullBytes: model.fullCacheBytes(ids.length + Math.max(0, out.length - 1), session.cache.dtype),
        keptBytes: perLayer.reduce((a, b) => a + b, 0),
        perLayer,
      },
    };
  } finally {
    session.dispose();
  }
}
