import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Backend, CpuBackend, OptionError } from '@kvsieve/core';
import { ModelConfigError, ModelFileError } from './errors.js';
import { GgufFile, type GgufValue } from './io/gguf.js';
import { ggufWeightSource } from './io/gguf-source.js';
import { expectObject, readJsonFile, tokenIds } from './io/json-file.js';
import { SafetensorsSource, type WeightSource } from './io/safetensors.js';
import { oneLine, show } from './io/show.js';
import { configFromGguf, configFromHf, type ModelConfig } from './model/config.js';
import { Model } from './model/model.js';
import { disposeWeights, GGUF_NAMES, HF_NAMES, loadWeights, type WeightNames } from './model/weights.js';
import { HfTokenizer } from './tokenizer/hf.js';
import { SpmTokenizer } from './tokenizer/spm.js';
import type { TextTokenizer } from './tokenizer/tokenizer.js';

export interface LoadOptions {
  /** Where the weights go (default: a new `CpuBackend`). */
  readonly backend?: Backend;
}

/**
 * Load a model: a Hugging Face folder (config.json, model.safetensors or its sharded index,
 * tokenizer.json, optional tokenizer_config.json and generation_config.json) or a single GGUF file.
 * Every file is validated before anything is sized from it; a bad file is a `ModelFileError` or
 * `ModelConfigError` naming it, with nothing left allocated. Weights go to the backend tensor by
 * tensor.
 */
export async function loadModel(path: string, opts: LoadOptions = {}): Promise<Model> {
  const backend = opts.backend ?? new CpuBackend();
  if (typeof path !== 'string' || path.length === 0) {
    throw new OptionError(`loadModel: the path must be a non-empty string, got ${show(path)}`);
  }
  if (!existsSync(path))
    throw new ModelFileError(`${path} does not exist; give a model folder or a .gguf file`);
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    throw new ModelFileError(`cannot open ${path}: ${oneLine(e)}`);
  }
  return isDir ? loadHfFolder(path, backend) : loadGguf(path, backend);
}

async function loadHfFolder(dir: string, backend: Backend): Promise<Model> {
  const configPath = join(dir, 'config.json');
  const rawConfig = expectObject(readJsonFile(configPath, true), configPath);
  const config = configFromHf(rawConfig, configPath);
  const tokPath = join(dir, 'tokenizer.json');
  const tokJson = readJsonFile(tokPath, true);
  const tokConfigPath = join(dir, 'tokenizer_config.json');
  const tokConfigJson = readJsonFile(tokConfigPath, false);
  const tokConfig = tokConfigJson === undefined ? {} : tokConfigJson;
  const genPath = join(dir, 'generation_config.json');
  const genJson = readJsonFile(genPath, false);
  const gen = genJson === undefined ? {} : expectObject(genJson, genPath);
  const eos = [
    ...tokenIds(gen.eos_token_id, genPath, 'eos_token_id'),
    ...tokenIds(rawConfig.eos_token_id, configPath, 'eos_token_id'),
  ];
  const tokenizer = new HfTokenizer(
    tokJson as object,
    tokConfig as Record<string, unknown>,
    [...new Set(eos)],
    {
      tokenizer: tokPath,
      config: tokConfigPath,
    },
  );
  const src = SafetensorsSource.fromFolder(dir);
  return finish(backend, config, src, HF_NAMES, tokenizer, dir, configPath);
}

function finish(
  backend: Backend,
  config: ModelConfig,
  src: WeightSource,
  names: WeightNames,
  tokenizer: TextTokenizer,
  source: string,
  configFile: string,
): Model {
  try {
    const weights = loadWeights(backend, src, names, config, configFile);
    try {
      return new Model(backend, config, weights, tokenizer, source);
    } catch (e) {
      disposeWeights(weights);
      throw e;
    }
  } finally {
    src.close();
  }
}

function strings(v: GgufValue | undefined, key: string, path: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw new ModelFileError(`${path}: metadata ${key} must be an array of strings`);
  return v as string[];
}

/** An optional per-token list: absent, or one number per token. */
function perToken(v: GgufValue | undefined, key: string, n: number, path: string): number[] | null {
  if (v === undefined) return null;
  if (!Array.isArray(v) || v.length !== n || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
    throw new ModelFileError(
      `${path}: metadata ${key} must be an array of ${n} finite numbers (one per token), got ${show(v)}`,
    );
  }
  return v as number[];
}

/** A special token id; as llama.cpp does, one outside the vocabulary is ignored. */
function optionalId(v: GgufValue | undefined, vocab: number): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < vocab ? v : null;
}

async function loadGguf(path: string, backend: Backend): Promise<Model> {
  const g = new GgufFile(path);
  try {
    const config = configFromGguf(g, path);
    const kind = g.get('tokenizer.ggml.model');
    if (kind !== 'llama') {
      throw new ModelConfigError(
        `${path}: GGUF tokenizer model ${show(kind)} is not supported (only the SentencePiece "llama" tokenizer); load the model's Hugging Face folder instead`,
      );
    }
    const tokens = strings(g.get('tokenizer.ggml.tokens'), 'tokenizer.ggml.tokens', path);
    if (tokens.length !== config.vocabSize) {
      throw new ModelConfigError(
        `${path}: metadata tokenizer.ggml.tokens has ${tokens.length} tokens but token_embd.weight has ${config.vocabSize} rows; the tokenizer does not belong to these weights`,
      );
    }
    const n = tokens.length;
    const scores = perToken(g.get('tokenizer.ggml.scores'), 'tokenizer.ggml.scores', n, path);
    const types = perToken(g.get('tokenizer.ggml.token_type'), 'tokenizer.ggml.token_type', n, path);
    const template = g.get('tokenizer.chat_template');
    const tokenizer = new SpmTokenizer({
      tokens,
      scores: scores ?? tokens.map(() => 0),
      types: types ?? tokens.map(() => 1),
      bosId: optionalId(g.get('tokenizer.ggml.bos_token_id'), n),
      eosId: optionalId(g.get('tokenizer.ggml.eos_token_id'), n),
      unkId: optionalId(g.get('tokenizer.ggml.unknown_token_id'), n) ?? 0,
      addBos: g.get('tokenizer.ggml.add_bos_token') !== false,
      addSpacePrefix: g.get('tokenizer.ggml.add_space_prefix') !== false,
      chatTemplate: typeof template === 'string' ? template : null,
    });
    return finish(backend, config, ggufWeightSource(g), GGUF_NAMES, tokenizer, path, `${path} (metadata)`);
  } finally {
    g.close();
  }
}
