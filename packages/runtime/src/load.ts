import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Backend, CpuBackend, OptionError } from '@kvsieve/core';
import { ModelFileError } from './errors.js';
import { GgufFile } from './io/gguf.js';
import { ggufWeightSource } from './io/gguf-source.js';
import { expectObject, readJsonFile, tokenIds } from './io/json-file.js';
import { SafetensorsSource, type WeightSource } from './io/safetensors.js';
import { oneLine, show } from './io/show.js';
import { configFromGguf, configFromHf, type ModelConfig } from './model/config.js';
import { Model } from './model/model.js';
import { disposeWeights, GGUF_NAMES, HF_NAMES, loadWeights, type WeightNames } from './model/weights.js';
import { tokenizerFromGguf } from './tokenizer/gguf-vocab.js';
import { HfTokenizer } from './tokenizer/hf.js';
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

async function loadGguf(path: string, backend: Backend): Promise<Model> {
  const g = new GgufFile(path);
  try {
    const config = configFromGguf(g, path);
    const tokenizer = tokenizerFromGguf(g, path, config.vocabSize);
    return finish(backend, config, ggufWeightSource(g), GGUF_NAMES, tokenizer, path, `${path} (metadata)`);
  } finally {
    g.close();
  }
}
