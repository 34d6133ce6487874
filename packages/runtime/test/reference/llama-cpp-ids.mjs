// Greedy reference continuation from llama.cpp (node-llama-cpp) of a prompt given as token ids, for
// test models whose vocabulary is not text. Usage: node llama-cpp-ids.mjs MODEL IDS_JSON STEPS.
// Prints one JSON line { tokens, logits }: logits[i] are the raw next-token logits (full
// vocabulary) before tokens[i] was chosen (argmax, ties to the lower id). One model per process
// and few steps: node-llama-cpp hung past ~60–100 tokens or with several contexts in a process
// (ENVIRONMENT.md).
import { getLlama } from 'node-llama-cpp';

const [modelPath, idsJson, countArg] = process.argv.slice(2);
const prompt = JSON.parse(idsJson);
const count = Number(countArg);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const model = await llama.loadModel({ modelPath });
// F32 KV cache and no flash attention: llama.cpp's defaults (F16 cache) would round keys and values.
const context = await model.createContext({
  contextSize: 256,
  batchSize: 256,
  threads: 1,
  flashAttention: false,
  experimentalKvCacheKeyType: 'F32',
  experimentalKvCacheValueType: 'F32',
});
const sequence = context.getSequence();
const tokens = [];
const logits = [];
let input = prompt.map((t, i) => (i === prompt.length - 1 ? [t, { generateNext: { logits: true } }] : t));
for (let step = 0; step < count; step++) {
  const out = await sequence.controlledEvaluate(input);
  const map = out[out.length - 1]?.next?.logits;
  if (!map) throw new Error(`no logits at step ${step}`);
  const row = new Array(map.size);
  for (const [tok, value] of map) row[tok] = value;
  let best = 0;
  for (let t = 1; t < row.length; t++) if (row[t] > row[best]) best = t;
  tokens.push(best);
  logits.push(row);
  input = [[best, { generateNext: { logits: true } }]];
}
// Exit only once the pipe has taken everything: exiting at once truncates large outputs.
process.stdout.write(`${JSON.stringify({ tokens, logits })}\n`, () => process.exit(0));
