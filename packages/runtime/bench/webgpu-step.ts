/**
 * What a WebGPU decode step costs the host: the JavaScript time to record one token's work (every
 * layer's dispatches and uploads) against the whole step, on a real model file. On a fast GPU a
 * small model's decode is bound by this recording, not by the device, so it is the figure to
 * watch when changing how ops encode.
 *
 *   pnpm --filter @kvsieve/runtime bench:webgpu-step [MODEL] [--steps 40] [--rounds 4]
 *
 * MODEL defaults to ../shared/models/stories260K/stories260K.gguf. Prints one row per round (the
 * first includes JIT warm-up) and the device counters per step.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createWebGpuBackend } from '@kvsieve/kernels-webgpu';
import { loadModel } from '../src/index.js';
import { decodeForward } from '../src/model/parts.js';
import type { DecodeSession } from '../src/model/session.js';

const { values: o, positionals } = parseArgs({
  allowPositionals: true,
  options: { steps: { type: 'string', default: '40' }, rounds: { type: 'string', default: '4' } },
});
const file =
  positionals[0] ??
  resolve(import.meta.dirname ?? '.', '../../../../shared/models/stories260K/stories260K.gguf');
const steps = Number(o.steps);
const gpu = await createWebGpuBackend();
const model = await loadModel(file, { backend: gpu });
const session = await model.start([1, 2, 3, 4, 5]);
let token = 1;
for (let i = 0; i < 8; i++) token = (await session.step(token, { readout: 'argmax' })).token!;
// The session's own parts and cache: the step is recorded exactly as DecodeSession.step records it.
const { parts, kv } = session as unknown as {
  parts: Parameters<typeof decodeForward>[0];
  kv: DecodeSession['cache'];
};
console.log(`${model.source} on ${gpu.adapterName}, ${model.config.numLayers} layers`);
console.log(
  '| round | dispatches / step | uploads+uniforms KiB / step | record ms / step | step ms | record µs / dispatch |',
);
console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
for (let round = 0; round < Number(o.rounds); round++) {
  const c0 = gpu.counters();
  const t0 = performance.now();
  let record = 0;
  for (let i = 0; i < steps; i++) {
    const r0 = performance.now();
    // Each recorded step appends to the cache (positions repeat; only the cost is measured here).
    const { x } = decodeForward(parts, kv, token, session.position, false);
    record += performance.now() - r0;
    x.dispose();
    await gpu.sync();
  }
  const total = performance.now() - t0;
  const c1 = gpu.counters();
  const d = (c1.dispatches - c0.dispatches) / steps;
  const kib = (c1.bytesWritten - c0.bytesWritten) / steps / 1024;
  console.log(
    `| ${round + 1} | ${d.toFixed(1)} | ${kib.toFixed(1)} | ${(record / steps).toFixed(2)} | ${(total / steps).toFixed(2)} | ${((1000 * record) / steps / d).toFixed(1)} |`,
  );
}
session.dispose();
model.dispose();
gpu.destroy();
process.exit(0);
