// llama.cpp's prefill and decode speed (node-llama-cpp) on a prompt given as token ids, for
// cpu-vs-llamacpp.ts (CPU) and gpu-bench.ts (GPU = vulkan).
// Usage: node llama-cpp-speed.mjs MODEL IDS_JSON_FILE DECODE THREADS [GPU].
// Prints one JSON line { prefillSeconds, decodeSeconds, decodeTokens, devices }, or { skip } when
// GPU was asked for and that build or a device for it is missing. One model per process, as
// reusing a process for several contexts hung here (ENVIRONMENT.md); exits explicitly.
import { readFileSync } from 'node:fs';
import { getLlama } from 'node-llama-cpp';

const [modelPath, idsFile, decodeArg, threadsArg, gpuArg] = process.argv.slice(2);
const ids = JSON.parse(readFileSync(idsFile, 'utf8'));
const decode = Number(decodeArg);
const gpu = gpuArg || false;

async function measure() {
  let llama;
  try {
    llama = await getLlama({ gpu, build: 'never', logLevel: 'error' });
  } catch (e) {
    if (!gpu) throw e;
    return { skip: `node-llama-cpp has no usable ${gpu} build here (${e.message.split('\n')[0]})` };
  }
  // A GPU build on a machine without such a device computes on the CPU: not the baseline asked for.
  const devices = gpu ? await llama.getGpuDeviceNames() : [];
  if (gpu && (llama.gpu !== gpu || devices.length === 0)) {
    return {
      skip: `node-llama-cpp's ${gpu} build found no ${gpu} GPU device (llama.cpp ignores CPU devices such as lavapipe)`,
    };
  }
  const model = await llama.loadModel({ modelPath, ...(gpu ? { gpuLayers: 'max' } : {}) });
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
  return { prefillSeconds, decodeSeconds, decodeTokens, devices };
}

const result = await measure();
process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
