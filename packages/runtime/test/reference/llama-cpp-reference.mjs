// Greedy reference continuation from llama.cpp (node-llama-cpp), one prompt per process: reusing a
// process for several contexts hung on this machine (see ENVIRONMENT.md). Prints one JSON line:
// { promptTokens, tokens, logits } where logits[i] are the raw next-token logits (full vocabulary)
// before tokens[i] was chosen. Greedy choice is made here (argmax, ties to the lower id), feeding
// one token per controlledEvaluate call.
import { getLlama } from 'node-llama-cpp';

const [modelPath, prompt, countArg] = process.argv.slice(2);
const count = Number(countArg);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const model = await llama.loadModel({ modelPath });
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
// BOS first, as llama.cpp's own tools do for this SentencePiece model (tokenize() does not add it).
const promptTokens = [model.tokens.bos, ...model.tokenize(prompt, false)];

const tokens = [];
const logits = [];
let input = promptTokens.map((t, i) =>
  i === promptTokens.length - 1 ? [t, { generateNext: { logits: true } }] : t,
);
for (let step = 0; step < count; step++) {
  const out = await sequence.controlledEvaluate(input);
  const last = out[out.length - 1];
  const map = last?.next?.logits;
  if (!map) throw new Error(`no logits at step ${step}`);
  const row = new Array(map.size);
  let best = -1;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (const [tok, value] of map) {
    row[tok] = value;
  }
  for (let t = 0; t < row.length; t++) {
    if (row[t] > bestValue) {
      bestValue = row[t];
      best = t;
    }
  }
  tokens.push(best);
  logits.push(row);
  input = [[best, { generateNext: { logits: true } }]];
}
// Exit only once the pipe has taken everything: exiting at once truncates large outputs.
process.stdout.write(`${JSON.stringify({ promptTokens, tokens, logits })}\n`, () => process.exit(0));
