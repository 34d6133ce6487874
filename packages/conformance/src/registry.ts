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

/**
 * The methods a vector file may name. `streamingllm` follows KVCache-Factory (first
 * `capacity − window` positions and the last `window`). `adakv` is our extension of the format:
 * `params.scorer` names the wrapped method ('snapkv' by default) and `params.alpha` its floor.
 */
export const VECTOR_METHODS: Readonly<Record<string, VectorMethodAdapter>> = {
  snapkv: { create: (p) => createSnapKV(windowed(p)), numLayers: oneLayer },
  pyramidkv: {
    create: (p) => createPyramidKV({ ...windowed(p), ...pick(p, ['beta']) }),
    numLayers: layersFrom,
  },
  h2o: {
    create: (p) => createH2O({ budget: p.capacity, ...pick(p, ['window', 'gqaReduce']) }),
    numLayers: oneLayer,
  },
  streamingllm: {
    create: (p) => {
      const capacity = p.capacity;
      const window = p.window;
      if (typeof capacity !== 'number' || typeof window !== 'number') {
        throw new VectorFileError(
          `streamingllm params need numeric capacity and window, got ${JSON.stringify(p)}`,
        );
      }
      return createStreamingLLM({ budget: capacity, sinks: capacity - window });
    },
    numLayers: oneLayer,
  },
  adakv: {
    create: (p) => {
      const inner = typeof p.scorer === 'string' ? p.scorer : 'snapkv';
      const base =
        inner === 'h2o' ? { budget: p.capacity, ...pick(p, ['window', 'gqaReduce']) } : windowed(p);
      return createAdaKV({
        method: inner,
        ...base,
        ...pick(p, inner === 'pyramidkv' ? ['alpha', 'beta'] : ['alpha']),
      });
    },
    numLayers: (p) => (p.scorer === 'pyramidkv' ? layersFrom(p) : 1),
  },
};

/** The scorer behind a method's selection, when it has one (tie rule and score comparison need it). */
export function scorerOf(method: CompressionMethod): Scorer | undefined {
  const s = (method as Partial<ComposedMethod>).scorer;
  return s && typeof s.score === 'function' ? s : undefined;
}
