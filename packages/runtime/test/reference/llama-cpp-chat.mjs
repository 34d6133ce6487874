// llama.cpp (node-llama-cpp) on a rendered chat prompt, for files with a real vocabulary.
// Usage: node llama-cpp-chat.mjs MODEL TEXT STEPS LOGITS_OUT
// Tokenizes TEXT with special-token text parsed and nothing added (a rendered chat template already
// holds the BOS text it wants, as kvsieve's --chat encodes it), then continues greedily (argmax, ties to the lower id) for STEPS tokens. Prints one JSON
// line { promptTokens, tokens, vocab }; the raw next-token logits before each token (STEPS rows of
// `vocab` f32) go to LOGITS_OUT, as JSON would be tens of megabytes for a 150k vocabulary.
// One model per process and few steps: node-llama-cpp hung past ~60–100 tokens or with several
// contexts in one process (ENVIRONMENT.md).
import { writeFileSync } from 'node:fs';
import { getLlama } from 'node-llama-cpp';

const [modelPath, text, countArg, logitsOut] = process.argv.slice(2);
const count = Number(countArg);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const model = await llama.loadModel({ modelPath });
const promptTokens = model.tokenize(text, true);
// F32 KV cache and no flash attention: llama.cpp's defaults (F16 cache) would round keys and values.
const context = await model.createContext({
  contextSize: 512,
  batchSize: 512,
  threads: 1,
  flashAttention: false,
  experimentalKvCacheKeyType: 'F32',
  experimentalKvCacheValueType: 'F32',
});
const sequence = context.getSequence();
const tokens = [];
let vocab = 0;
const rows = [];
let input = promptTokens.map((t, i) =>
  i === promptTokens.length - 1 ? [t, { generateNext: { logits: true } }] : t,
);
for (let step = 0; step < count; step++) {
  const out = await sequence.controlledEvaluate(input);
  const map = out[out.length - 1]?.next?.logits;
  if (!map) throw new Error(`no logits at step ${step}`);
  vocab = map.size;
  const row = new Float32Array(vocab);
  for (const [tok, value] of map) row[tok] = value;
  let best = 0;
  for (let t = 1; t < vocab; t++) if (row[t] > row[best]) best = t;
  tokens.push(best);
  rows.push(row);
  input = [[best, { generateNext: { logits: true } }]];
}
const all = new Float32Array(rows.length * vocab);
rows.forEach((r, i) => all.set(r, i * vocab));
writeFileSync(logitsOut, new Uint8Array(all.buffer));
// Exit only once the pipe has taken everything: exiting at once truncates large outputs.
process.stdout.write(`${JSON.stringify({ promptTokens, tokens, vocab })}\n`, () => process.exit(0));
