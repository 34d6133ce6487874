import { CpuBackend, createLayerContext } from '@kvsieve/core';
import { chunkkv } from '@kvsieve/methods-chunkkv';

const method = chunkkv({ budget: 12, window: 2, chunkSize: 4, reuse: 2 });
// A model with 2 layers, 4 query heads sharing 2 KV heads, and a 24-token prompt.
const model = { numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 4 };
const L = 24;
const run = method.begin(model, { length: L });

// What the runtime hands a method after a layer's prefill: post-RoPE keys and queries.
const backend = new CpuBackend();
const rows = (n: number, f: (i: number) => number) => Float32Array.from({ length: n * 4 }, (_, i) => f(i));
const w = run.observe.window;
const keeps = [];
for (let layer = 0; layer < model.numLayers; layer++) {
  const ctx = createLayerContext({
    backend,
    model,
    layer,
    keys: backend.upload(
      rows(2 * L, (i) => Math.sin(i + 3 * layer)),
      [2, L, 4],
      'f32',
    ),
    windowQueries: backend.upload(rows(4 * w, Math.cos), [4, w, 4], 'f32'),
    positions: Int32Array.from({ length: L }, (_, i) => i),
  });
  keeps.push((await run.afterLayer(ctx)).keep); // layer 1 reuses layer 0's positions, unscored
  ctx.release();
}
console.log(method.name, method.options, keeps);
