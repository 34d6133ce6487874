import type { RopeStyle } from '@kvsieve/core';
import { ModelConfigError, ModelFileError } from '../errors.js';
import type { GgufFile } from '../io/gguf.js';
import { show } from '../io/show.js';

/**
 * The dense model families served, as config.json's `model_type` and GGUF's `general.architecture` name them;
 * any other is a `ModelConfigError`.
 */
export const ARCHITECTURES = ['llama', 'mistral', 'qwen2', 'qwen3'] as const;
/** One of {@link ARCHITECTURES}. */
export type Architecture = (typeof ARCHITECTURES)[number];

/**
 * How rotary frequencies are stretched for contexts longer than pretraining (config.json's `rope_scaling`):
 * Llama 3.1's frequency-dependent `'llama3'` scaling, or `'linear'` position interpolation (every frequency
 * divided by `factor`). Applied by {@link ropeInvFreq}.
 */
export type RopeScaling =
  | {
      /**
       * Llama 3.1's scaling: long wavelengths divided by `factor`, short ones kept, a smooth blend between.
       */
      readonly type: 'llama3';
      /** How far the context is stretched beyond `originalMaxPositions` (Llama 3.1: 8). */
      readonly factor: number;
      /** Wavelengths above `originalMaxPositions / lowFreqFactor` are scaled fully (Llama 3.1: 1). */
      readonly lowFreqFactor: number;
      /** Wavelengths below `originalMaxPositions / highFreqFactor` are kept as they are (Llama 3.1: 4). */
      readonly highFreqFactor: number;
      /** The context length of pretraining (Llama 3.1: 8192). */
      readonly originalMaxPositions: number;
    }
  | {
      /** Linear position interpolation: every wavelength stretched by `factor`. */
      readonly type: 'linear';
      /** Positions are divided by this before the rotation. */
      readonly factor: number;
    };

/** One model's shape and numerics, whichever file format it came from. */
export interface ModelConfig {
  /** Model family: also decides Q/K/V biases (Qwen2) and per-head Q/K norms (Qwen3). */
  readonly architecture: Architecture;
  /** Transformer blocks (`num_hidden_layers`; GGUF `block_count`). */
  readonly numLayers: number;
  /** Width of the residual stream (`hidden_size`). */
  readonly hiddenSize: number;
  /** Width of the SwiGLU feed-forward layer (`intermediate_size`). */
  readonly intermediateSize: number;
  /** Query heads per layer (`H`). */
  readonly numHeads: number;
  /**
   * KV heads per layer (`Hkv`): divides `numHeads` (GQA groups of `H / Hkv`); `numHeads` when the file does
   * not say.
   */
  readonly numKvHeads: number;
  /** Features per head `d` (`head_dim`, else `hiddenSize / numHeads`). */
  readonly headDim: number;
  /** Leading features of each head that rotate (the rest pass through). */
  readonly ropeDim: number;
  /** Token ids the embedding and output matrices cover. */
  readonly vocabSize: number;
  /** RMSNorm epsilon (when absent: 1e-6 from config.json, 1e-5 from GGUF, each ecosystem's default). */
  readonly rmsEps: number;
  /** RoPE base frequency θ (`rope_theta`; GGUF `rope.freq_base`; default 10000). */
  readonly ropeTheta: number;
  /** Long-context frequency scaling, or null for plain RoPE. */
  readonly ropeScaling: RopeScaling | null;
  /**
   * Which feature pairs rotate: `'half'` (Hugging Face weights, Qwen GGUF) or `'interleaved'` (Llama and
   * Mistral GGUF, whose converter permuted the Q and K rows).
   */
  readonly ropeStyle: RopeStyle;
  /**
   * Longest sequence the model is configured for (`max_position_embeddings`; GGUF `context_length`; default
   * 2048): generation stops there.
   */
  readonly maxPositions: number;
  /** Whether the output projection reuses the token embedding (no separate `lm_head` / `output.weight`). */
  readonly tiedEmbeddings: boolean;
  /** Sliding-window attention (Mistral): a token sees the last `slidingWindow` positions; 0: all. */
  readonly slidingWindow: number;
  /** Whether the Q, K and V projections add biases (Qwen2, or `attention_bias`). */
  readonly qkvBias: boolean;
  /** Whether Q and K are RMS-normalized per head before RoPE (Qwen3). */
  readonly qkNorm: boolean;
}

function int(v: unknown, key: string, where: string): number {
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) {
    throw new ModelConfigError(`${where}: ${key} must be a positive integer, got ${show(v)}`);
  }
  return n;
}

/** A finite number at least `min` (or above it when `open`), or the fallback when absent. */
function num(
  v: unknown,
  key: string,
  where: string,
  fallback?: number,
  min = -Infinity,
  open = false,
): number {
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new ModelConfigError(`${where}: ${key} is missing`);
  }
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (open && v === min)) {
    const range = min === -Infinity ? '' : open ? ` above ${min}` : ` at least ${min}`;
    throw new ModelConfigError(`${where}: ${key} must be a finite number${range}, got ${show(v)}`);
  }
  return v;
}

function flag(v: unknown, key: string, where: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean')
    throw new ModelConfigError(`${where}: ${key} must be true or false, got ${show(v)}`);
  return v;
}

function checkArch(name: unknown, where: string): Architecture {
  if (typeof name !== 'string' || !(ARCHITECTURES as readonly string[]).includes(name)) {
    throw new ModelConfigError(
      `${where}: architecture ${show(name)} is not supported; supported: ${ARCHITECTURES.join(', ')}`,
    );
  }
  return name as Architecture;
}

function checkHeads(c: ModelConfig, where: string): ModelConfig {
  if (c.numHeads % c.numKvHeads !== 0) {
    throw new ModelConfigError(
      `${where}: ${c.numHeads} attention heads are not a multiple of ${c.numKvHeads} KV heads`,
    );
  }
  if (c.ropeDim % 2 !== 0 || c.ropeDim > c.headDim) {
    throw new ModelConfigError(
      `${where}: rotary dimension ${c.ropeDim} must be even and at most the head dimension ${c.headDim}`,
    );
  }
  return c;
}

function ropeScalingFromHf(rs: unknown, where: string): RopeScaling | null {
  if (rs === undefined || rs === null) return null;
  if (typeof rs !== 'object' || Array.isArray(rs)) {
    throw new ModelConfigError(`${where}: rope_scaling must be an object or null, got ${show(rs)}`);
  }
  const r = rs as Record<string, unknown>;
  const type = r.rope_type ?? r.type;
  if (type === 'default') return null;
  const factor = () => num(r.factor, 'rope_scaling.factor', where, undefined, 0, true);
  if (type === 'linear') return { type: 'linear', factor: factor() };
  if (type === 'llama3') {
    return {
      type: 'llama3',
      factor: factor(),
      lowFreqFactor: num(r.low_freq_factor, 'rope_scaling.low_freq_factor', where, undefined, 0, true),
      highFreqFactor: num(r.high_freq_factor, 'rope_scaling.high_freq_factor', where, undefined, 0, true),
      originalMaxPositions: int(
        r.original_max_position_embeddings,
        'rope_scaling.original_max_position_embeddings',
        where,
      ),
    };
  }
  throw new ModelConfigError(
    `${where}: rope_scaling type ${show(type)} is not supported; supported: default, linear, llama3`,
  );
}

/** Mixture-of-experts models (Mixtral, Qwen-MoE) have other feed-forward weights: refused by name. */
function refuseExperts(count: unknown, key: string, where: string): void {
  if (count === undefined || count === null || count === 0) return;
  throw new ModelConfigError(
    `${where}: ${key} is ${show(count)}: mixture-of-experts models are not supported (dense Llama, Mistral, Qwen2 and Qwen3 are)`,
  );
}

/**
 * Mistral's `sliding_window` applies to every layer. Qwen2/Qwen3 turn theirs on per layer
 * (`use_sliding_window` with `max_window_layers`), which no released checkpoint uses and kvsieve does
 * not implement: refused rather than ignored.
 */
function slidingWindowFromHf(arch: Architecture, json: Record<string, unknown>, where: string): number {
  if (arch === 'mistral') {
    return json.sliding_window === undefined || json.sliding_window === null
      ? 0
      : int(json.sliding_window, 'sliding_window', where);
  }
  if ((arch === 'qwen2' || arch === 'qwen3') && json.use_sliding_window === true) {
    throw new ModelConfigError(
      `${where}: use_sliding_window is true: per-layer sliding windows (max_window_layers) are not supported; set it to false if the checkpoint was trained without one`,
    );
  }
  return 0;
}

/** A Hugging Face `config.json`. */
export function configFromHf(json: Record<string, unknown>, where: string): ModelConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ModelFileError(`${where}: the file must be a JSON object, got ${show(json)}`);
  }
  const arch = checkArch(json.model_type, where);
  refuseExperts(json.num_local_experts ?? json.num_experts, 'num_local_experts', where);
  const hidden = int(json.hidden_size, 'hidden_size', where);
  const heads = int(json.num_attention_heads, 'num_attention_heads', where);
  const headDim =
    json.head_dim === undefined || json.head_dim === null
      ? hidden / heads
      : int(json.head_dim, 'head_dim', where);
  if (!Number.isInteger(headDim))
    throw new ModelConfigError(`${where}: hidden_size ${hidden} is not divisible by ${heads} heads`);
  return checkHeads(
    {
      architecture: arch,
      numLayers: int(json.num_hidden_layers, 'num_hidden_layers', where),
      hiddenSize: hidden,
      intermediateSize: int(json.intermediate_size, 'intermediate_size', where),
      numHeads: heads,
      numKvHeads:
        json.num_key_value_heads == null
          ? heads
          : int(json.num_key_value_heads, 'num_key_value_heads', where),
      headDim,
      ropeDim: headDim,
      vocabSize: int(json.vocab_size, 'vocab_size', where),
      rmsEps: num(json.rms_norm_eps, 'rms_norm_eps', where, 1e-6, 0),
      ropeTheta: num(json.rope_theta, 'rope_theta', where, 10000, 0, true),
      ropeScaling: ropeScalingFromHf(json.rope_scaling, where),
      ropeStyle: 'half',
      maxPositions: int(json.max_position_embeddings ?? 2048, 'max_position_embeddings', where),
      tiedEmbeddings: flag(json.tie_word_embeddings, 'tie_word_embeddings', where),
      slidingWindow: slidingWindowFromHf(arch, json, where),
      qkvBias: arch === 'qwen2' || flag(json.attention_bias, 'attention_bias', where),
      qkNorm: arch === 'qwen3',
    },
    where,
  );
}

/**
 * GGUF metadata. llama.cpp's converter permutes Llama/Mistral Q and K rows for its interleaved
 * rotation (pairs 2i, 2i+1), so those run with `interleaved` on the stored weights; Qwen models are
 * stored unpermuted and rotate halves (NEOX style).
 */
export function configFromGguf(g: GgufFile, where: string): ModelConfig {
  const arch = checkArch(g.get('general.architecture'), where);
  const k = (s: string) => g.get(`${arch}.${s}`);
  refuseExperts(k('expert_count'), `${arch}.expert_count`, where);
  const hidden = int(k('embedding_length'), `${arch}.embedding_length`, where);
  const heads = int(k('attention.head_count'), `${arch}.attention.head_count`, where);
  const headDim =
    k('attention.key_length') === undefined
      ? hidden / heads
      : int(k('attention.key_length'), 'attention.key_length', where);
  const tokens = g.get('tokenizer.ggml.tokens');
  const embd = g.tensors.get('token_embd.weight');
  const vocab = embd?.shape[0] ?? (Array.isArray(tokens) ? tokens.length : 0);
  let scaling: RopeScaling | null = null;
  const scalingType = k('rope.scaling.type');
  if (scalingType === 'linear') {
    scaling = {
      type: 'linear',
      factor: num(k('rope.scaling.factor'), 'rope.scaling.factor', where, undefined, 0, true),
    };
  } else if (scalingType !== undefined && scalingType !== 'none') {
    throw new ModelConfigError(
      `${where}: GGUF rope scaling ${show(scalingType)} is not supported; supported: none, linear (llama3 through rope_freqs)`,
    );
  }
  return checkHeads(
    {
      architecture: arch,
      numLayers: int(k('block_count'), `${arch}.block_count`, where),
      hiddenSize: hidden,
      intermediateSize: int(k('feed_forward_length'), `${arch}.feed_forward_length`, where),
      numHeads: heads,
      numKvHeads:
        k('attention.head_count_kv') === undefined
          ? heads
          : int(k('attention.head_count_kv'), 'attention.head_count_kv', where),
      headDim,
      ropeDim:
        k('rope.dimension_count') === undefined
          ? headDim
          : int(k('rope.dimension_count'), 'rope.dimension_count', where),
      vocabSize: int(vocab, 'vocabulary size', where),
      rmsEps: num(k('attention.layer_norm_rms_epsilon'), 'attention.layer_norm_rms_epsilon', where, 1e-5, 0),
      ropeTheta: num(k('rope.freq_base'), 'rope.freq_base', where, 10000, 0, true),
      ropeScaling: scaling,
      ropeStyle: arch === 'llama' || arch === 'mistral' ? 'interleaved' : 'half',
      maxPositions: int(k('context_length') ?? 2048, 'context_length', where),
      tiedEmbeddings: !g.tensors.has('output.weight'),
      // llama.cpp runs its llama/qwen architectures without one unless the file states it.
      slidingWindow:
        k('attention.sliding_window') === undefined
          ? 0
          : int(k('attention.sliding_window'), `${arch}.attention.sliding_window`, where),
      qkvBias: g.tensors.has('blk.0.attn_q.bias'),
      qkNorm: g.tensors.has('blk.0.attn_q_norm.weight'),
    },
    where,
  );
}

/** Inverse rotary frequencies, with Llama 3 / linear scaling applied as Hugging Face computes them. */
export function ropeInvFreq(c: ModelConfig, factors?: Float32Array): Float32Array {
  const half = c.ropeDim / 2;
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    let f = 1 / c.ropeTheta ** ((2 * i) / c.ropeDim);
    const s = c.ropeScaling;
    if (s?.type === 'linear') f /= s.factor;
    if (s?.type === 'llama3') {
      const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
      const highWavelen = s.originalMaxPositions / s.highFreqFactor;
      const wavelen = (2 * Math.PI) / f;
      if (wavelen > lowWavelen) f /= s.factor;
      else if (wavelen >= highWavelen) {
        const smooth =
          (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        f = (1 - smooth) * (f / s.factor) + smooth * f;
      }
    }
    if (factors) f /= factors[i]!;
    out[i] = f;
  }
  return out;
}
