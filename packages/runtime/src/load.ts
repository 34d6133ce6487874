import { type Backend, CpuBackend, OptionError } from '@kvsieve/core';
import { ModelFileError } from './errors.js';
import { BytesFile } from './io/file.js';
import { diskFolder, type ModelFiles, type ModelFolder, memoryFolder } from './io/folder.js';
import { GgufFile } from './io/gguf.js';
import { ggufWeightSource } from './io/gguf-source.js';
import { expectObject, readJsonFile, tokenIds } from './io/json-file.js';
import { nodeFs } from './io/node.js';
import { SafetensorsSource, type WeightSource } from './io/safetensors.js';
import { oneLine, show, showName } from './io/show.js';
import { configFromGguf, configFromHf, type ModelConfig } from './model/config.js';
import { Model } from './model/model.js';
import { disposeWeights, GGUF_NAMES, HF_NAMES, loadWeights, type WeightNames } from './model/weights.js';
import { tokenizerFromGguf } from './tokenizer/gguf-vocab.js';
import { HfTokenizer } from './tokenizer/hf.js';
import type { TextTokenizer } from './tokenizer/tokenizer.js';

export type { ModelFiles } from './io/folder.js';

export interface LoadOptions {
  /** Where the weights go (default: a new `CpuBackend`). */
  readonly backend?: Backend;
}

/**
 * Load a model: a Hugging Face folder (config.json, model.safetensors or its sharded index,
 * tokenizer.json, optional tokenizer_config.json and generation_config.json) or a single GGUF file,
 * given by path (Node), or as the files' bytes by name (anywhere, a browser included):
 * `loadModel({ 'config.json': bytes, 'model.safetensors': bytes, 'tokenizer.json': bytes })` or
 * `loadModel({ 'model.gguf': bytes })`. Every file is validated before anything is sized from it; a
 * bad file is a `ModelFileError` or `ModelConfigError` naming it, with nothing left allocated.
 * Weights go to the backend tensor by tensor.
 */
export async function loadModel(source: string | ModelFiles, opts: LoadOptions = {}): Promise<Model> {
  const backend = opts.backend ?? new CpuBackend();
  if (source !== null && typeof source === 'object' && !ArrayBuffer.isView(source)) {
    return loadFiles(source, backend);
  }
  const path = source;
  if (typeof path !== 'string' || path.length === 0) {
    throw new OptionError(
      `loadModel: give a path (a non-empty string) or the model's files as { name: bytes }, got ${show(path)}`,
    );
  }
  const fs = nodeFs('loadModel(path)');
  if (!fs.existsSync(path))
    throw new ModelFileError(`${path} does not exist; give a model folder or a .gguf file`);
  let isDir: boolean;
  try {
    isDir = fs.statSync(path).isDirectory();
  } catch (e) {
    throw new ModelFileError(`cannot open ${path}: ${oneLine(e)}`);
  }
  return isDir ? loadHfFolder(diskFolder(path), backend) : loadGguf(new GgufFile(path), backend);
}

/** Files in memory: one `*.gguf`, or a Hugging Face folder's files. */
async function loadFiles(files: ModelFiles, backend: Backend): Promise<Model> {
  const names = Object.keys(files);
  const ggufs = names.filter((n) => n.toLowerCase().endsWith('.gguf'));
  if (ggufs.length > 1 || (ggufs.length === 1 && names.length > 1)) {
    throw new OptionError(
      `loadModel: give one .gguf file alone, or a Hugging Face model's files; got ${show(names)}`,
    );
  }
  if (ggufs.length === 1) {
    const name = ggufs[0]!;
    const bytes = files[name];
    if (!(bytes instanceof Uint8Array || bytes instanceof ArrayBuffer)) {
      throw new OptionError(
        `loadModel: ${showName(name)} must be a Uint8Array or an ArrayBuffer of the file's bytes`,
      );
    }
    return loadGguf(new GgufFile(new BytesFile(name, bytes)), backend);
  }
  return loadHfFolder(memoryFolder(files), backend);
}

async function loadHfFolder(folder: ModelFolder, backend: Backend): Promise<Model> {
  const configPath = folder.label('config.json');
  const rawConfig = expectObject(readJsonFile(folder, 'config.json', true), configPath);
  const config = configFromHf(rawConfig, configPath);
  const tokPath = folder.label('tokenizer.json');
  const tokJson = readJsonFile(folder, 'tokenizer.json', true);
  const tokConfigPath = folder.label('tokenizer_config.json');
  const tokConfigJson = readJsonFile(folder, 'tokenizer_config.json', false);
  const tokConfig = tokConfigJson === undefined ? {} : tokConfigJson;
  const genPath = folder.label('generation_config.json');
  const genJson = readJsonFile(folder, 'generation_config.json', false);
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
  const src = SafetensorsSource.fromFolder(folder);
  return finish(backend, config, src, HF_NAMES, tokenizer, folder.description, configPath);
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

async function loadGguf(g: GgufFile, backend: Backend): Promise<Model> {
  const path = g.path;
  try {
    const config = configFromGguf(g, path);
    const tokenizer = tokenizerFromGguf(g, path, config.vocabSize);
    return finish(backend, config, ggufWeightSource(g), GGUF_NAMES, tokenizer, path, `${path} (metadata)`);
  } finally {
    g.close();
  }
}
