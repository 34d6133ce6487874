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
import {
  disposeWeights,
  GGUF_NAMES,
  HF_NAMES,
  type LoadProgress,
  loadWeights,
  type UploadOptions,
  type WeightNames,
} from './model/weights.js';
import { tokenizerFromGguf } from './tokenizer/gguf-vocab.js';
import { HfTokenizer } from './tokenizer/hf.js';
import type { TextTokenizer } from './tokenizer/tokenizer.js';

export type { ModelFiles } from './io/folder.js';

/** Options of {@link loadModel}. */
export interface LoadOptions {
  /** Where the weights go (default: a new `CpuBackend`). */
  readonly backend?: Backend;
  /** Called after each weight tensor reaches the backend (e.g. for a progress bar). */
  readonly onProgress?: (progress: LoadProgress) => void;
  /**
   * Stops the load between two tensors: the promise rejects with the signal's reason (an
   * `AbortError` unless one was given) and every tensor uploaded so far is freed. While a signal
   * is given the load yields to the event loop between tensors, so a worker can receive the
   * message that aborts it.
   */
  readonly signal?: AbortSignal;
}

export type { LoadProgress } from './model/weights.js';

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
  opts.signal?.throwIfAborted();
  const up: Upload = {
    backend,
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  if (source !== null && typeof source === 'object' && !ArrayBuffer.isView(source)) {
    return loadFiles(source, up);
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
  return isDir ? loadHfFolder(diskFolder(path), up) : loadGguf(new GgufFile(path), up);
}

/** Files in memory: one `*.gguf`, or a Hugging Face folder's files. */
async function loadFiles(files: ModelFiles, up: Upload): Promise<Model> {
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
    return loadGguf(new GgufFile(new BytesFile(name, bytes)), up);
  }
  return loadHfFolder(memoryFolder(files), up);
}

async function loadHfFolder(folder: ModelFolder, up: Upload): Promise<Model> {
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
  return finish(up, config, src, HF_NAMES, tokenizer, folder.description, configPath);
}

/** Where weights go, with the caller's progress callback and abort signal. */
type Upload = UploadOptions & { readonly backend: Backend };

async function finish(
  up: Upload,
  config: ModelConfig,
  src: WeightSource,
  names: WeightNames,
  tokenizer: TextTokenizer,
  source: string,
  configFile: string,
): Promise<Model> {
  try {
    const weights = await loadWeights(up.backend, src, names, config, configFile, up);
    try {
      return new Model(up.backend, config, weights, tokenizer, source);
    } catch (e) {
      disposeWeights(weights);
      throw e;
    }
  } finally {
    src.close();
  }
}

async function loadGguf(g: GgufFile, up: Upload): Promise<Model> {
  const path = g.path;
  try {
    const config = configFromGguf(g, path);
    const tokenizer = tokenizerFromGguf(g, path, config.vocabSize);
    // Awaited here, so the file stays open until every tensor has been read.
    return await finish(up, config, ggufWeightSource(g), GGUF_NAMES, tokenizer, path, `${path} (metadata)`);
  } finally {
    g.close();
  }
}
