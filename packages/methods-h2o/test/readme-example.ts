import { CpuBackend, createLayerContext } from '@kvsieve/core';
import { h2o } from '@kvsieve/methods-h2o';

const method = h2o({ budget: 8, window: 2 });
// A model with 2 query heads sharing 1 KV head, and a 16-token prompt.
const model = { numLayers: 1, numHeads: 2, numKvHeads: 1, headDim: 4 };
const L = 16;
const run = method.begin(model, { length: L });

// What the runtime hands a method after a layer's prefill: post-RoPE keys and queries.
const backend = new CpuBackend();
const rows = (n: number, f: (i: number) => number) => Float32Array.from({ length: n * 4 }, (_, i) => f(i));
const w = run.observe.window;
const ctx = createLayerContext({
  backend,
  model,
  layer: 0,
  keys: backend.upload(rows(L, Math.sin), [1, L, 4], 'f32'),
  windowQueries: backend.upload(rows(2 * w, Math.cos), [2, w, 4], 'f32'),
  ...(run.observe.allQueries ? { allQueries: backend.upload(rows(2 * L, Math.cos), [2, L, 4], 'f32') } : {}),
  positions: Int32Array.from({ length: L }, (_, i) => i),
});
const decision = await run.afterLayer(ctx);
console.log(method.name, method.options, decision.keep);
