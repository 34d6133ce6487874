import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '@kvsieve/core';
import { ModelConfigError, ModelFileError } from './errors.js';
import { GgufFile, type GgufValue } from './io/gguf.js';
import { ggufWeightSource } from './io/gguf-source.js';
import { SafetensorsSource, type WeightSource } from './io/safetensors.js';
import { configFromGguf, configFromHf } from './model/config.js';
import { Model } from './model/model.js';
import { GGUF_NAMES, HF_NAMES, loadWeights } from './model/weights.js';
import { HfTokenizer } from './tokenizer/hf.js';
import { SpmTokenizer } from './tokenizer/spm.js';
import type { TextTokenizer } from './tokenizer/tokenizer.js';

export interface LoadOptions {
  readonly backend: Backend;
}

/**
 * Load a model: a Hugging Face folder (config.json, model.safetensors or its sharded index,
 * tokenizer.json, optional tokenizer_config.json and generation_config.json) or a single GGUF file.
 * Weights go to the backend tensor by tensor.
 */
export async function loadModel(path: string, opts: LoadOptions): Promise<Model> {
  if (!existsSync(path))
    throw new ModelFileError(`${path} does not exist; give a model folder or a .gguf file`);
  return statSync(path).isDirectory() ? loadHfFolder(path, opts.backend) : loadGguf(path, opts.backend);
}

function readJson(path: string, required: boolean): Record<string, unknown> | null {
  if (!existsSync(path)) {
    if (required) throw new ModelFileError(`${path} is missing; a Hugging Face model folder needs it`);
    return null;
  }
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ModelFileError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

function idList(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  return Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : [];
}

async function loadHfFolder(dir: string, backend: Backend): Promise<Model> {
  const configPath = join(dir, 'config.json');
  const config = configFromHf(readJson(configPath, true)!, configPath);
  const tokJson = readJson(join(dir, 'tokenizer.json'), true)!;
  const tokConfig = readJson(join(dir, 'tokenizer_config.json'), false) ?? {};
  const gen = readJson(join(dir, 'generation_config.json'), false) ?? {};
  const rawConfig = readJson(configPath, true)!;
  const eos = [...idList(gen.eos_token_id), ...idList(rawConfig.eos_token_id)];
  const tokenizer = new HfTokenizer(tokJson, tokConfig, [...new Set(eos)]);
  const src = SafetensorsSource.fromFolder(dir);
  return finish(backend, config, src, HF_NAMES, tokenizer, dir, configPath);
}

function finish(
  backend: Backend,
  config: ReturnType<typeof configFromHf>,
  src: WeightSource,
  names: typeof HF_NAMES,
  tokenizer: TextTokenizer,
  source: string,
  configFile: string,
): Model {
  try {
    const weights = loadWeights(backend, src, names, config, configFile);
    return new Model(backend, config, weights, tokenizer, source);
  } finally {
    src.close();
  }
}

function strings(v: GgufValue | undefined, key: string, path: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw new ModelFileError(`${path}: metadata ${key} must be an array of strings`);
  return v as string[];
}

function optionalId(v: GgufValue | undefined): number | null {
  return typeof v === 'number' && v >= 0 && v < 2 ** 31 ? v : null;
}

async function loadGguf(path: string, backend: Backend): Promise<Model> {
  const g = new GgufFile(path);
  try {
    const config = configFromGguf(g, path);
    const kind = g.get('tokenizer.ggml.model');
    if (kind !== 'llama') {
      throw new ModelConfigError(
        `${path}: GGUF tokenizer model ${JSON.stringify(kind)} is not supported (only the SentencePiece "llama" tokenizer); load the model's Hugging Face folder instead`,
      );
    }
    const tokens = strings(g.get('tokenizer.ggml.tokens'), 'tokenizer.ggml.tokens', path);
    const scores = g.get('tokenizer.ggml.scores');
    const types = g.get('tokenizer.ggml.token_type');
    const template = g.get('tokenizer.chat_template');
    const tokenizer = new SpmTokenizer({
      tokens,
      scores: Array.isArray(scores) ? (scores as number[]) : tokens.map(() => 0),
      types: Array.isArray(types) ? (types as number[]) : tokens.map(() => 1),
      bosId: optionalId(g.get('tokenizer.ggml.bos_token_id')),
      eosId: optionalId(g.get('tokenizer.ggml.eos_token_id')),
      unkId: optionalId(g.get('tokenizer.ggml.unknown_token_id')) ?? 0,
      addBos: g.get('tokenizer.ggml.add_bos_token') !== false,
      addSpacePrefix: g.get('tokenizer.ggml.add_space_prefix') !== false,
      chatTemplate: typeof template === 'string' ? template : null,
    });
    return finish(backend, config, ggufWeightSource(g), GGUF_NAMES, tokenizer, path, `${path} (metadata)`);
  } finally {
    g.close();
  }
}
