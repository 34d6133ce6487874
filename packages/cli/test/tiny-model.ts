import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { byteLevelTokenizerJson, writeRandomModel } from '@kvsieve/runtime';

/** Shape of the CLI tests' model: 2 layers, 4 query heads over 2 KV heads, head dim 8. */
export const TINY = { layers: 2, kvHeads: 2, headDim: 8 };

/**
 * A tiny random Llama folder (see {@link TINY}) with a byte-level tokenizer whose end-of-text id is
 * 256, in a fresh temporary folder.
 */
export function tinyModelDir(seed: number, opts: { maxPositions?: number; eos?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'kvsieve-cli-'));
  writeRandomModel(dir, {
    config: {
      model_type: 'llama',
      hidden_size: 32,
      intermediate_size: 64,
      num_attention_heads: 4,
      num_key_value_heads: TINY.kvHeads,
      num_hidden_layers: TINY.layers,
      vocab_size: 260,
      max_position_embeddings: opts.maxPositions ?? 256,
      rms_norm_eps: 1e-5,
      ...(opts.eos === false ? {} : { eos_token_id: 256 }),
    },
    tokenizer: byteLevelTokenizerJson(3),
    seed,
  });
  return dir;
}
