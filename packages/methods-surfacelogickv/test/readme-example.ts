import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend } from '@kvsieve/core';
import { calibrate, summarizeProfile, surfacelogickv } from '@kvsieve/methods-surfacelogickv';
import { byteLevelTokenizerJson, loadModel, writeRandomModel } from '@kvsieve/runtime';

// A tiny random Llama (2 layers, 4 query heads sharing 2 KV heads) stands in for a real model.
const dir = mkdtempSync(join(tmpdir(), 'slkv-readme-'));
writeRandomModel(dir, {
  config: {
    model_type: 'llama',
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    vocab_size: 260,
    max_position_embeddings: 256,
  },
  tokenizer: byteLevelTokenizerJson(),
  seed: 1,
});
const model = await loadModel(dir, { backend: new CpuBackend() });

// Offline: profile the heads with needle-in-a-haystack probes (what `kvsieve calibrate` does).
const profile = await calibrate(model, { probes: 4, lengths: [96], depths: [0.25, 0.75], answer: 'teacher' });
console.log(summarizeProfile(profile));

// Online: 24 tokens per KV head on average (window 4 included), shared by the profile.
const prompt = model.tokenizer.encode('Once upon a time, a small robot lived in a quiet town by the sea.');
const session = await model.start(prompt, {
  method: surfacelogickv({ budget: 24, window: 4, profile }),
});
console.log(session.layers.map((l) => Array.from(l.kept)));
session.dispose();
model.dispose();
