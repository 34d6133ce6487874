import { ARCH_SPECS, type ArchSpec } from '../../test/fixtures/arch-gguf.js';
import { syntheticVocab } from '../../test/fixtures/bpe-gguf.js';
import type { GgufTensorType } from '../../test/fixtures/gguf-writer.js';
import { q4kmType } from '../../test/fixtures/quant-model.js';

/** A model shape at full depth, with a vocabulary of its real size that needs no tokenizer files. */
export interface BenchShape {
  readonly name: string;
  readonly spec: ArchSpec;
  readonly layers: number;
  readonly vocabSize: number;
}

/**
 * Depth and vocabulary size of each published model (config.json's num_hidden_layers and
 * vocab_size; test/gpu-bench.test.ts checks them against the real vocabularies and SmolLM2's
 * config in ../shared). Widths, heads and RoPE come from arch-gguf.ts's specs.
 */
const PUBLISHED: Record<string, { layers: number; vocabSize: number }> = {
  'SmolLM2-135M': { layers: 30, vocabSize: 49152 },
  'Qwen2.5-0.5B': { layers: 24, vocabSize: 151936 },
  'Llama-3.2-1B': { layers: 16, vocabSize: 128256 },
};

export const SHAPE_NAMES = Object.keys(PUBLISHED);

/**
 * `spec` at `layers` deep, its vocabulary replaced by a synthetic one of `vocabSize` ids: the bench
 * feeds random ids, so only the size matters, and the offline kit carries no tokenizer files.
 */
export function benchShape(spec: ArchSpec, layers: number, vocabSize: number, name = spec.name): BenchShape {
  return { name, spec: { ...spec, vocab: () => syntheticVocab(vocabSize) }, layers, vocabSize };
}

export function shapeByName(name: string): BenchShape {
  const p = PUBLISHED[name];
  const spec = ARCH_SPECS.find((s) => s.name === name);
  if (!p || !spec) throw new Error(`--shapes: unknown shape ${name}; known: ${SHAPE_NAMES.join(', ')}`);
  return benchShape(spec, p.layers, p.vocabSize);
}

/** Weight types the bench writes: one GGUF type throughout, or llama.cpp's Q4_K_M recipe. */
export const WEIGHT_TYPES = ['F16', 'Q8_0', 'Q4_K', 'Q4_K_M', 'Q6_K'];

export function typeOfTensor(type: string, layers: number): (tensor: string) => GgufTensorType {
  if (!WEIGHT_TYPES.includes(type))
    throw new Error(`--types: unknown type ${type}; known: ${WEIGHT_TYPES.join(', ')}`);
  if (type === 'Q4_K_M') return q4kmType(layers, true);
  return () => type as GgufTensorType;
}
