import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import {
  byteLevelTokenizerJson,
  generate,
  loadModel,
  NumericalError,
  writeRandomModel,
} from '../src/index.js';

/** Finite weights so large that the activations overflow f32: the load accepts them, the forward pass cannot. */
function overflowingModel(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kvsieve-overflow-'));
  writeRandomModel(dir, {
    config: {
      model_type: 'llama',
      hidden_size: 32,
      intermediate_size: 64,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      num_hidden_layers: 2,
      vocab_size: 260,
      max_position_embeddings: 64,
      rms_norm_eps: 1e-5,
    },
    tokenizer: byteLevelTokenizerJson(3),
    seed: 2,
    scale: 1e25,
  });
  return dir;
}

describe('non-finite activations', () => {
  it('raise a NumericalError naming the position instead of generating noise, and free the cache', async () => {
    const backend = new CpuBackend();
    const model = await loadModel(overflowingModel(), { backend });
    const live = backend.liveBytes();
    await expect(model.start([1, 2, 3])).rejects.toThrow(NumericalError);
    await expect(model.start([1, 2, 3])).rejects.toThrow(/the logits after position 2 are not finite/);
    await expect(generate(model, 'hi').next()).rejects.toThrow(NumericalError);
    expect(backend.liveBytes()).toBe(live);
    model.dispose();
  });
});
