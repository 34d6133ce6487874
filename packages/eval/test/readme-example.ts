import { CpuBackend } from '@kvsieve/core';
import { fidelityTable, runFidelity } from '@kvsieve/eval';
import { snapkv } from '@kvsieve/methods-snapkv';
import { loadModel } from '@kvsieve/runtime';

// Run from the repository root, with ../shared beside it (or KVSIEVE_SHARED set).
const shared = process.env.KVSIEVE_SHARED ?? '../shared';
const model = await loadModel(`${shared}/models/stories260K/stories260K.gguf`, { backend: new CpuBackend() });
const prompt = model.tokenizer.encode(
  'Once upon a time, there was a little dog named Max. Max liked to run in the park.',
);
const report = await runFidelity({
  model,
  prompt,
  tokens: 16,
  candidates: [{ name: 'snapkv', method: snapkv({ budget: 12, window: 4 }), budget: '12 tokens' }],
});
console.log(fidelityTable(report));
model.dispose();
