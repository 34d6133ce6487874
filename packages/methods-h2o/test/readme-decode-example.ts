import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend } from '@kvsieve/core';
import { h2oDecode } from '@kvsieve/methods-h2o';
import { byteLevelTokenizerJson, generate, loadModel, writeRandomModel } from '@kvsieve/runtime';

// A tiny random Llama (2 layers, 2 KV heads) so that the example runs anywhere.
const dir = mkdtempSync(join(tmpdir(), 'h2o-decode-'));
writeRandomModel(dir, {
  config: {
    model_type: 'llama',
    hidden_size: 32,
    intermediate_size: 64,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    num_hidden_layers: 2,
    vocab_size: 260,
    max_position_embeddings: 512,
    rms_norm_eps: 1e-5,
  },
  tokenizer: byteLevelTokenizerJson(3),
  seed: 1,
});
const model = await loadModel(dir, { backend: new CpuBackend() });

// Keep 64 entries per KV head: 16 most recent, 48 heavy hitters; evict every 16 tokens.
const method = h2oDecode({ budget: 64, recent: 16, slack: 16 });
const bytes = new Set<number>();
const run = generate(model, 'Once upon a time there was a little fox.', {
  method,
  maxTokens: 300,
  stopTokens: [],
});
for await (const t of run) if (t.step > 0) bytes.add(t.stats.cacheAllocatedBytes);
// One allocation for all 300 tokens: 2 layers × 2 heads × (64 + 16) rows × (2·8·4 + 4) bytes.
console.log(method.name, [...bytes]);
model.dispose();
