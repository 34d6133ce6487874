import { encodeHalf, seededRandom } from '@kvsieve/core';
import { configFromHf } from '../model/config.js';
import { nodeFs, nodePath } from './node.js';
import { encodeSafetensorsHeader } from './safetensors.js';

/** What {@link writeRandomModel} writes: the model's config and tokenizer, and how its weights are drawn. */
export interface RandomModelOptions {
  /** A Hugging Face config.json object (llama, mistral, qwen2 or qwen3). */
  readonly config: Record<string, unknown>;
  /** tokenizer.json: an object to write, or a path to copy. */
  readonly tokenizer: object | string;
  /** Seed of the weights (default 1): the same seed and config give the same files. */
  readonly seed?: number;
  /** Storage dtype of every weight in model.safetensors (default `'F32'`). */
  readonly dtype?: 'F32' | 'F16' | 'BF16';
  /** Largest weight magnitude of projections (default 0.4; norms sit near 1). */
  readonly scale?: number;
}

/**
 * Write a model folder with seeded random weights as real safetensors, for tests and benchmarks
 * of a model's shape when its trained weights are not at hand. Tensors are generated and written
 * one at a time, so memory holds one tensor at most.
 */
export function writeRandomModel(dir: string, opts: RandomModelOptions): void {
  // Node only (it writes files); fetched on use so browser bundles of the runtime need no fs.
  const { closeSync, copyFileSync, mkdirSync, openSync, writeFileSync, writeSync } =
    nodeFs('writeRandomModel');
  const { join } = nodePath('writeRandomModel');
  const c = configFromHf(opts.config, 'writeRandomModel config');
  const d = c.headDim;
  const shapes: { name: string; shape: number[]; scale: number; offset: number }[] = [];
  const scale = opts.scale ?? 0.4;
  const add = (name: string, shape: number[], s = scale, offset = 0) =>
    shapes.push({ name, shape, scale: s, offset });
  add('model.embed_tokens.weight', [c.vocabSize, c.hiddenSize], 1);
  add('model.norm.weight', [c.hiddenSize], 0.1, 1);
  if (!c.tiedEmbeddings) add('lm_head.weight', [c.vocabSize, c.hiddenSize], 0.3);
  for (let i = 0; i < c.numLayers; i++) {
    const p = `model.layers.${i}.`;
    add(`${p}input_layernorm.weight`, [c.hiddenSize], 0.1, 1);
    add(`${p}post_attention_layernorm.weight`, [c.hiddenSize], 0.1, 1);
    add(`${p}self_attn.q_proj.weight`, [c.numHeads * d, c.hiddenSize]);
    add(`${p}self_attn.k_proj.weight`, [c.numKvHeads * d, c.hiddenSize]);
    add(`${p}self_attn.v_proj.weight`, [c.numKvHeads * d, c.hiddenSize], scale * 0.75);
    add(`${p}self_attn.o_proj.weight`, [c.hiddenSize, c.numHeads * d], scale * 0.75);
    if (c.qkvBias) {
      add(`${p}self_attn.q_proj.bias`, [c.numHeads * d], 0.2);
      add(`${p}self_attn.k_proj.bias`, [c.numKvHeads * d], 0.2);
      add(`${p}self_attn.v_proj.bias`, [c.numKvHeads * d], 0.2);
    }
    if (c.qkNorm) {
      add(`${p}self_attn.q_norm.weight`, [d], 0.1, 1);
      add(`${p}self_attn.k_norm.weight`, [d], 0.1, 1);
    }
    add(`${p}mlp.gate_proj.weight`, [c.intermediateSize, c.hiddenSize], scale * 0.75);
    add(`${p}mlp.up_proj.weight`, [c.intermediateSize, c.hiddenSize], scale * 0.75);
    add(`${p}mlp.down_proj.weight`, [c.hiddenSize, c.intermediateSize], scale * 0.75);
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(opts.config, null, 2));
  if (typeof opts.tokenizer === 'string') copyFileSync(opts.tokenizer, join(dir, 'tokenizer.json'));
  else writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(opts.tokenizer));
  const dtype = opts.dtype ?? 'F32';
  const { header } = encodeSafetensorsHeader(shapes.map((s) => ({ name: s.name, dtype, shape: s.shape })));
  const rand = seededRandom(opts.seed ?? 1);
  const fd = openSync(join(dir, 'model.safetensors'), 'w');
  try {
    writeSync(fd, header);
    for (const s of shapes) {
      const n = s.shape.reduce((a, b) => a * b, 1);
      const values = new Float32Array(n);
      for (let i = 0; i < n; i++) values[i] = s.offset + (rand() * 2 - 1) * s.scale;
      const data = dtype === 'F32' ? values : encodeHalf(values, dtype === 'F16' ? 'f16' : 'bf16');
      writeSync(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * A byte-level BPE tokenizer.json without merges: ids 0-255 are the bytes, 256 is `<|end|>`,
 * and `extra` more ids are spare special tokens (to reach a model's vocabulary size).
 */
export function byteLevelTokenizerJson(extra = 0): object {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  // GPT-2's byte-to-character map: printable bytes are themselves, the rest shift past 255.
  const charOf = new Map<number, string>(printable.map((b) => [b, String.fromCharCode(b)]));
  let shift = 0;
  for (let b = 0; b < 256; b++) if (!charOf.has(b)) charOf.set(b, String.fromCharCode(256 + shift++));
  const vocab: Record<string, number> = {};
  for (const [b, ch] of charOf) vocab[ch] = b;
  const special = ['<|end|>', ...Array.from({ length: extra }, (_, i) => `<|spare${257 + i}|>`)];
  special.forEach((t, i) => (vocab[t] = 256 + i));
  return {
    version: '1.0',
    added_tokens: special.map((content, i) => ({
      id: 256 + i,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: [],
    },
  };
}
