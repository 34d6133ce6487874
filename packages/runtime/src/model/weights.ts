import { type Backend, type DType, QUANT_LAYOUTS, type Tensor } from '@kvsieve/core';
import { ModelConfigError, ModelFileError } from '../errors.js';
import type { WeightSource } from '../io/safetensors.js';
import type { ModelConfig } from './config.js';

export interface LayerWeights {
  attnNorm: Tensor;
  wq: Tensor;
  wk: Tensor;
  wv: Tensor;
  wo: Tensor;
  bq?: Tensor;
  bk?: Tensor;
  bv?: Tensor;
  qNorm?: Tensor;
  kNorm?: Tensor;
  ffnNorm: Tensor;
  gate: Tensor;
  up: Tensor;
  down: Tensor;
}

export interface ModelWeights {
  embed: Tensor;
  finalNorm: Tensor;
  /** The output projection; the embedding table itself when embeddings are tied. */
  lmHead: Tensor;
  layers: LayerWeights[];
  /** GGUF `rope_freqs.weight` (Llama 3 scaling factors), read to the host. */
  ropeFactors?: Float32Array;
}

/** Tensor names of one file format, by role. */
export interface WeightNames {
  embed: string;
  finalNorm: string;
  lmHead: string;
  layer(i: number, role: keyof LayerWeights): string;
  /** The configuration field that gives the layer count, for messages. */
  layerCountField: string;
}

const HF_LAYER: Record<keyof LayerWeights, string> = {
  attnNorm: 'input_layernorm.weight',
  wq: 'self_attn.q_proj.weight',
  wk: 'self_attn.k_proj.weight',
  wv: 'self_attn.v_proj.weight',
  wo: 'self_attn.o_proj.weight',
  bq: 'self_attn.q_proj.bias',
  bk: 'self_attn.k_proj.bias',
  bv: 'self_attn.v_proj.bias',
  qNorm: 'self_attn.q_norm.weight',
  kNorm: 'self_attn.k_norm.weight',
  ffnNorm: 'post_attention_layernorm.weight',
  gate: 'mlp.gate_proj.weight',
  up: 'mlp.up_proj.weight',
  down: 'mlp.down_proj.weight',
};

const GGUF_LAYER: Record<keyof LayerWeights, string> = {
  attnNorm: 'attn_norm.weight',
  wq: 'attn_q.weight',
  wk: 'attn_k.weight',
  wv: 'attn_v.weight',
  wo: 'attn_output.weight',
  bq: 'attn_q.bias',
  bk: 'attn_k.bias',
  bv: 'attn_v.bias',
  qNorm: 'attn_q_norm.weight',
  kNorm: 'attn_k_norm.weight',
  ffnNorm: 'ffn_norm.weight',
  gate: 'ffn_gate.weight',
  up: 'ffn_up.weight',
  down: 'ffn_down.weight',
};

export const HF_NAMES: WeightNames = {
  embed: 'model.embed_tokens.weight',
  finalNorm: 'model.norm.weight',
  lmHead: 'lm_head.weight',
  layer: (i, role) => `model.layers.${i}.${HF_LAYER[role]}`,
  layerCountField: 'num_hidden_layers',
};

export const GGUF_NAMES: WeightNames = {
  embed: 'token_embd.weight',
  finalNorm: 'output_norm.weight',
  lmHead: 'output.weight',
  layer: (i, role) => `blk.${i}.${GGUF_LAYER[role]}`,
  layerCountField: 'block_count',
};

/** Roles read only by matmul or embedding, which may be stored quantized. */
const MATRIX_ROLES: ReadonlySet<keyof LayerWeights> = new Set(['wq', 'wk', 'wv', 'wo', 'gate', 'up', 'down']);
/** ggml's quantized type names (GGUF files). */
const QUANTIZED_NAMES: ReadonlySet<string> = new Set(Object.values(QUANT_LAYOUTS).map((l) => l.ggmlName));

function expectedShapes(c: ModelConfig): Record<keyof LayerWeights, number[] | null> {
  const { hiddenSize: D, numHeads: H, numKvHeads: Hkv, headDim: d, intermediateSize: I } = c;
  return {
    attnNorm: [D],
    wq: [H * d, D],
    wk: [Hkv * d, D],
    wv: [Hkv * d, D],
    wo: [D, H * d],
    bq: c.qkvBias ? [H * d] : null,
    bk: c.qkvBias ? [Hkv * d] : null,
    bv: c.qkvBias ? [Hkv * d] : null,
    qNorm: c.qkNorm ? [d] : null,
    kNorm: c.qkNorm ? [d] : null,
    ffnNorm: [D],
    gate: [I, D],
    up: [I, D],
    down: [D, I],
  };
}

/**
 * The configuration's layer count against the file, before anything is sized from it: the last
 * layer's tensors must be there, so a header claiming 10^8 layers fails at once.
 */
function checkLayerCount(src: WeightSource, names: WeightNames, c: ModelConfig, configFile: string): void {
  const last = names.layer(c.numLayers - 1, 'attnNorm');
  if (src.has(last)) return;
  // Bounded by the file's tensor count: each step needs one more tensor to be present.
  let present = 0;
  while (src.has(names.layer(present, 'attnNorm'))) present++;
  // A GGUF's configuration is its own metadata: name the file once.
  const where = configFile.startsWith(src.description)
    ? `${src.description}: its ${configFile.slice(src.description.length).replace(/[() ]/g, '') || 'configuration'}`
    : `${src.description}: ${configFile}`;
  throw new ModelConfigError(
    `${where} says ${c.numLayers} layers (${names.layerCountField}) but the weights hold ${present} (tensor ${last} is missing); the configuration does not belong to these weights`,
  );
}

/**
 * Check every tensor's presence and shape against the configuration, then upload them one at a
 * time (each host copy is dropped before the next is read). On any failure everything uploaded so
 * far is disposed.
 */
/** How far a load has come: reported after each weight tensor reaches the backend. */
export interface LoadProgress {
  /** The tensor just uploaded. */
  readonly name: string;
  /** Weight tensors uploaded so far, this one included. */
  readonly tensors: number;
  /** Weight tensors the model has in all. */
  readonly totalTensors: number;
  /** Bytes uploaded so far, as stored (quantized blocks count their own size). */
  readonly bytes: number;
}

export interface UploadOptions {
  readonly onProgress?: (progress: LoadProgress) => void;
  readonly signal?: AbortSignal;
}

/** Yield to the event loop (a macrotask, so messages are delivered), at most every ~20 ms. */
function yielder(): () => Promise<void> {
  let last = performance.now();
  return async () => {
    if (performance.now() - last < 20) return;
    await new Promise((resolve) => setTimeout(resolve, 0));
    last = performance.now();
  };
}

export async function loadWeights(
  backend: Backend,
  src: WeightSource,
  names: WeightNames,
  c: ModelConfig,
  configFile: string,
  opts: UploadOptions = {},
): Promise<ModelWeights> {
  const plan: { name: string; shape: number[]; set: (t: Tensor) => void }[] = [];
  const shapes = expectedShapes(c);
  const top: Partial<ModelWeights> = {};
  /** `matrix`: read only by matmul or embedding, so it may be stored quantized. */
  const want = (name: string, shape: number[], matrix: boolean, set: (t: Tensor) => void) => {
    const info = src.info(name);
    if (!info) {
      throw new ModelFileError(
        `${src.description}: tensor ${name} is missing (the ${c.architecture} configuration in ${configFile} needs it)`,
      );
    }
    if (info.shape.length !== shape.length || info.shape.some((x, i) => x !== shape[i])) {
      throw new ModelConfigError(
        `${info.file}: tensor ${name} has shape [${info.shape.join(', ')}] but ${configFile} implies [${shape.join(', ')}]`,
      );
    }
    // Norms and biases are added and multiplied elementwise, which no backend does on blocks;
    // llama.cpp's quantizer never quantizes them either.
    if (!matrix && QUANTIZED_NAMES.has(info.dtype)) {
      throw new ModelConfigError(
        `${info.file}: tensor ${name} is ${info.dtype}, but norm weights and biases must be F32, F16 or BF16 (llama.cpp keeps them F32); re-convert the model`,
      );
    }
    plan.push({ name, shape, set });
  };
  // Vocabulary and hidden size first: every later shape is built from them.
  want(names.embed, [c.vocabSize, c.hiddenSize], true, (t) => (top.embed = t));
  want(names.finalNorm, [c.hiddenSize], false, (t) => (top.finalNorm = t));
  if (!c.tiedEmbeddings) want(names.lmHead, [c.vocabSize, c.hiddenSize], true, (t) => (top.lmHead = t));
  checkLayerCount(src, names, c, configFile);
  const layers: Partial<LayerWeights>[] = [];
  for (let i = 0; i < c.numLayers; i++) {
    const layer: Partial<LayerWeights> = {};
    layers.push(layer);
    for (const [role, shape] of Object.entries(shapes) as [keyof LayerWeights, number[] | null][]) {
      if (shape) want(names.layer(i, role), shape, MATRIX_ROLES.has(role), (t) => (layer[role] = t));
    }
  }
  const rope = src.info('rope_freqs.weight');
  if (rope && (rope.dtype !== 'F32' || rope.shape.length !== 1 || rope.shape[0] !== c.ropeDim / 2)) {
    throw new ModelConfigError(
      `${rope.file}: tensor rope_freqs.weight is ${rope.dtype} [${rope.shape.join(', ')}] but must be F32 [${c.ropeDim / 2}] (half the rotary dimension)`,
    );
  }
  const uploaded: Tensor[] = [];
  const { onProgress, signal } = opts;
  const pause = signal ? yielder() : undefined;
  let bytes = 0;
  try {
    for (const p of plan) {
      if (pause) await pause();
      signal?.throwIfAborted();
      const { data, dtype } = src.read(p.name);
      const t = backend.upload(data, p.shape, dtype, p.name);
      uploaded.push(t);
      p.set(t);
      bytes += data.byteLength;
      onProgress?.({ name: p.name, tensors: uploaded.length, totalTensors: plan.length, bytes });
    }
    let ropeFactors: Float32Array | undefined;
    if (rope) {
      ropeFactors = src.read('rope_freqs.weight').data as Float32Array;
      // Inverse frequencies are divided by these: zero or negative would rotate by Infinity.
      const bad = ropeFactors.findIndex((f) => !(f > 0));
      if (bad >= 0) {
        throw new ModelFileError(
          `${rope.file}: tensor rope_freqs.weight holds ${ropeFactors[bad]} at element ${bad}; rotary scaling factors must be positive (the file is corrupt)`,
        );
      }
    }
    return {
      embed: top.embed!,
      finalNorm: top.finalNorm!,
      lmHead: top.lmHead ?? top.embed!,
      layers: layers as LayerWeights[],
      ...(ropeFactors ? { ropeFactors } : {}),
    };
  } catch (e) {
    for (const t of uploaded) t.dispose();
    throw e;
  }
}

function allWeights(w: ModelWeights): Set<Tensor> {
  return new Set([w.embed, w.finalNorm, w.lmHead, ...w.layers.flatMap((l) => Object.values(l) as Tensor[])]);
}

export function disposeWeights(w: ModelWeights): void {
  for (const t of allWeights(w)) t.dispose();
}

/** Bytes the weights hold on their backend, each tensor once (tied embeddings are one tensor). */
export function weightBytes(w: ModelWeights): number {
  let n = 0;
  for (const t of allWeights(w)) n += t.storage.byteLength;
  return n;
}

/** Bytes per storage dtype, largest first (a Q4_K_M file: q4_k, q6_k, f32). */
export function weightBytesByDtype(w: ModelWeights): [DType, number][] {
  const by = new Map<DType, number>();
  for (const t of allWeights(w)) by.set(t.dtype, (by.get(t.dtype) ?? 0) + t.storage.byteLength);
  return [...by].sort((a, b) => b[1] - a[1]);
}
