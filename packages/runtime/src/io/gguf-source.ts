import { GGML_ALL_TYPES } from './ggml-types.js';
import type { GgufFile } from './gguf.js';
import type { WeightSource } from './safetensors.js';

/** A GGUF file's tensors as a {@link WeightSource}. */
export function ggufWeightSource(g: GgufFile): WeightSource {
  return {
    description: g.path,
    has: (name) => g.tensors.has(name),
    info(name) {
      const t = g.tensors.get(name);
      return t
        ? { shape: t.shape, dtype: GGML_ALL_TYPES[t.type]?.name ?? `ggml type ${t.type}`, file: g.path }
        : undefined;
    },
    read: (name) => g.readTensor(name),
    close: () => g.close(),
  };
}
