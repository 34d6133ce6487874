import type { RopeStyle } from '@kvsieve/core';
import { ModelConfigError } from '../errors.js';
import type { GgufFile } from '../io/gguf.js';

export const ARCHITECTURES = ['llama', 'mistral', 'qwen2', 'qwen3'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export type RopeScaling =
  | {
      readonly type: 'llama3';
      readonly factor: number;
      readonly lowFreqFactor: number;
      readonly highFreqFactor: number;
      readonly originalMaxPositions: number;
    }
  | { readonly type: 'linear'; readonly factor: number };

/** One model's shape and numerics, whichever file format it came from. */
export interface ModelConfig {
  readonly architecture: Architecture;
  readonly numLayers: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  /** Leading features of each head that rotate (the rest pass through). */
  readonly ropeDim: number;
  readonly vocabSize: number;
  readonly rmsEps: number;
  readonly ropeTheta: number;
  readonly ropeScaling: RopeScaling | null;
  readonly ropeStyle: RopeStyle;
  readonly maxPositions: number;
  readonly tiedEmbeddings: boolean;
  readonly qkvBias: boolean;
  readonly qkNorm: boolean;
}

function int(v: unknown, key: string, where: string): number {
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw new ModelConfigError(
      `${where}: ${key} must be a positive integer, got ${JSON.stringify(typeof v === 'bigint' ? String(v) : v)}`,
    );
  }
  return n;
}

function num(v: unknown, key: string, where: string, fallback?: number): number {
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new ModelConfigError(`${where}: ${key} is missing`);
  }
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new ModelConfigError(`${where}: ${key} must be a number, got ${JSON.stringify(v)}`);
  return v;
}

function checkArch(name: unknown, where: string): Architecture {
  if (typeof name !== 'string' || !(ARCHITECTURES as readonly string[]).includes(name)) {
    throw new ModelConfigError(
      `${where}: architecture ${JSON.stringify(name)} is not supported; supported: ${ARCHITECTURES.join(', ')}`,
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

function ropeScalingFromHf(
  rs: Record<string, unknown> | null | undefined,
  where: string,
): RopeScaling | null {
  if (!rs) return null;
  const type = rs.rope_type ?? rs.type;
  if (type === 'default') return null;
  if (type === 'linear') return { type: 'linear', factor: num(rs.factor, 'rope_scaling.factor', where) };
  if (type === 'llama3') {
    return {
      type: 'llama3',
      factor: num(rs.factor, 'rope_scaling.factor', where),
      lowFreqFactor: num(rs.low_freq_factor, 'rope_scaling.low_freq_factor', where),
      highFreqFactor: num(rs.high_freq_factor, 'rope_scaling.high_freq_factor', where),
      originalMaxPositions: int(
        rs.original_max_position_embeddings,
        'rope_scaling.original_max_position_embeddings',
        where,
      ),
    };
  }
  throw new ModelConfigError(
    `${where}: rope_scaling type ${JSON.stringify(type)} is not supported; supported: default, linear, llama3`,
  );
}

/** A Hugging Face `config.json`. */
export function configFromHf(json: Record<string, unknown>, where: string): ModelConfig {
  const arch = checkArch(json.model_type, where);
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
      rmsEps: num(json.rms_norm_eps, 'rms_norm_eps', where, 1e-6),
      ropeTheta: num(json.rope_theta, 'rope_theta', where, 10000),
      ropeScaling: ropeScalingFromHf(json.rope_scaling as Record<string, unknown> | null, where),
      ropeStyle: 'half',
      maxPositions: int(json.max_position_embeddings ?? 2048, 'max_position_embeddings', where),
      tiedEmbeddings: json.tie_word_embeddings === true,
      qkvBias: arch === 'qwen2' || json.attention_bias === true,
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
  if (scalingType === 'linear')
    scaling = { type: 'linear', factor: num(k('rope.scaling.factor'), 'rope.scaling.factor', where) };
  else if (scalingType !== undefined && scalingType !== 'none') {
    throw new ModelConfigError(
      `${where}: GGUF rope scaling ${JSON.stringify(scalingType)} is not supported; supported: none, linear (llama3 through rope_freqs)`,
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
      rmsEps: num(k('attention.layer_norm_rms_epsilon'), 'attention.layer_norm_rms_epsilon', where, 1e-5),
      ropeTheta: num(k('rope.freq_base'), 'rope.freq_base', where, 10000),
      ropeScaling: scaling,
      ropeStyle: arch === 'llama' || arch === 'mistral' ? 'interleaved' : 'half',
      maxPositions: int(k('context_length') ?? 2048, 'context_length', where),
      tiedEmbeddings: !g.tensors.has('output.weight'),
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
