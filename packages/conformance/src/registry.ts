import type { ComposedMethod, CompressionMethod, Scorer } from '@kvsieve/core';
import { createMethod as createAdaKV } from '@kvsieve/methods-adakv';
import { createMethod as createH2O } from '@kvsieve/methods-h2o';
import { createMethod as createPyramidKV } from '@kvsieve/methods-pyramidkv';
import { createMethod as createSnapKV } from '@kvsieve/methods-snapkv';
import { createMethod as createStreamingLLM } from '@kvsieve/methods-streamingllm';
import { VectorFileError } from './vector-file.js';

type Params = Readonly<Record<string, unknown>>;

/** How a check's `params` (the golden file's vocabulary) become one of our methods. */
export interface VectorMethodAdapter {
  /** Builds the method; throws a KvsieveError when the params are out of range. */
  create(params: Params): CompressionMethod;
  /** Layers of the model the check plans for (PyramidKV's schedule depends on it). */
  numLayers(params: Params): number;
}

function pick(params: Params, names: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const n of names) if (params[n] !== undefined) out[n] = params[n];
  return out;
}

function windowed(params: Params): Record<string, unknown> {
  return { budget: params.capacity, ...pick(params, ['window', 'kernel', 'pooling', 'gqaReduce']) };
}

const oneLayer = (): number => 1;

function layersFrom(params: Params): number {
  const n = params.numLayers;
  if (!(typeof n === 'number' && Number.isInteger(n) && n >= 1)) {
    throw new VectorFileError(
      `params.numLayers must be a positive integer for a layer-dependent method, got ${JSON.stringify(n)}`,
    );
  }
  return n;
}

type Factory = (options: Record<string, unknown>) => CompressionMethod;

/** How a check's params become a method's options, by method name (the golden files' vocabulary). */
const OPTIONS_OF: Readonly<Record<string, (p: Params) => Record<string, unknown>>> = {
  snapkv: windowed,
  pyramidkv: (p) => ({ ...windowed(p), ...pick(p, ['beta']) }),
  h2o: (p) => ({ budget: p.capacity, ...pick(p, ['window', 'gqaReduce']) }),
  streamingllm: (p) => {
    const capacity = p.capacity;
    const window = p.window;
    if (typeof capacity !== 'number' || typeof window !== 'number') {
      throw new VectorFileError(
        `streamingllm params need numeric capacity and window, got ${JSON.stringify(p)}`,
      );
    }
    return { budget: capacity, sinks: capacity - window };
  },
  adakv: (p) => {
    const inner = typeof p.scorer === 'string' ? p.scorer : 'snapkv';
    const base = inner === 'h2o' ? { budget: p.capacity, ...pick(p, ['window', 'gqaReduce']) } : windowed(p);
    return { method: inner, ...base, ...pick(p, inner === 'pyramidkv' ? ['alpha', 'beta'] : ['alpha']) };
  },
};

const LAYERS_OF: Readonly<Record<string, (p: Params) => number>> = {
  snapkv: oneLayer,
  pyramidkv: layersFrom,
  h2o: oneLayer,
  streamingllm: oneLayer,
  adakv: (p) => (p.scorer === 'pyramidkv' ? layersFrom(p) : 1),
};

/** The names a vector file may give a method. */
export const VECTOR_METHOD_NAMES = Object.keys(OPTIONS_OF);

/**
 * An adapter for the checks that name `name`, made with `factory` (another implementation of the
 * method: a package or a module file given to `kvsieve conformance --method NAME=SPEC`).
 */
export function vectorMethod(name: string, factory: Factory): VectorMethodAdapter {
  const options = OPTIONS_OF[name];
  const layers = LAYERS_OF[name];
  if (!options || !layers) {
    throw new VectorFileError(
      `vector files name the methods ${VECTOR_METHOD_NAMES.join(', ')}; there are no checks for ${JSON.stringify(name)}`,
    );
  }
  return { create: (p) => factory(options(p)), numLayers: layers };
}

/**
 * The methods a vector file may name. `streamingllm` follows KVCache-Factory (first
 * `capacity − window` positions and the last `window`). `adakv` is our extension of the format:
 * `params.scorer` names the wrapped method ('snapkv' by default) and `params.alpha` its floor.
 */
export const VECTOR_METHODS: Readonly<Record<string, VectorMethodAdapter>> = {
  snapkv: vectorMethod('snapkv', createSnapKV),
  pyramidkv: vectorMethod('pyramidkv', createPyramidKV),
  h2o: vectorMethod('h2o', createH2O),
  streamingllm: vectorMethod('streamingllm', createStreamingLLM),
  adakv: vectorMethod('adakv', createAdaKV),
};

/** The scorer behind a method's selection, when it has one (tie rule and score comparison need it). */
export function scorerOf(method: CompressionMethod): Scorer | undefined {
  const s = (method as Partial<ComposedMethod>).scorer;
  return s && typeof s.score === 'function' ? s : undefined;
}
