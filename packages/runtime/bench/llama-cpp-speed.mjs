// llama.cpp's prefill and decode speed (node-llama-cpp, CPU) on a prompt given as token ids, for
// cpu-vs-llamacpp.ts. Usage: node llama-cpp-speed.mjs MODEL IDS_JSON_FILE DECODE THREADS.
// Prints one JSON line { prefillSeconds, decodeSeconds, decodeTokens }. One model per process, as
// reusing a process for several contexts hung here (ENVIRONMENT.md); exits explicitly.
import { readFileSync } from 'node:fs';
import { getLlama } from 'node-llama-cpp';

const [modelPath, idsFile, decodeArg, threadsArg] = process.argv.slice(2);
const ids = JSON.parse(readFileSync(idsFile, 'utf8'));
const decode = Number(decodeArg);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const model = await llama.loadModel({ modelPath });
// llama.cpp's defaults otherwise (F16 KV cache, its own choice of flash attention): the speed a
// user gets. The whole prompt is one batch, as llama.cpp's own tools send it.
const context = await model.createContext({
  contextSize: ids.length + decode + 16,
  batchSize: Math.min(ids.length, 2048),
  threads: Number(threadsArg),
});
const sequence = context.getSequence();
let t0 = performance.now();
let out = await sequence.controlledEvaluate(
  ids.map((t, i) => (i === ids.length - 1 ? [t, { generateNext: { token: true } }] : t)),
);
const prefillSeconds = (performance.now() - t0) / 1000;
let next = out.at(-1)?.next?.token;
t0 = performance.now();
let decodeTokens = 0;
for (; decodeTokens < decode && next !== undefined; decodeTokens++) {
  out = await sequence.controlledEvaluate([[next, { generateNext: { token: true } }]]);
  next = out.at(-1)?.next?.token;
}
const decodeSeconds = (performance.now() - t0) / 1000;
process.stdout.write(`${JSON.stringify({ prefillSeconds, decodeSeconds, decodeTokens })}\n`, () =>
  process.exit(0),
);
