import { type Backend, CpuBackend } from '@kvsieve/core';
import { createWasmBackend } from '@kvsieve/kernels-wasm';

const wasm = await createWasmBackend(); // shared memory where SharedArrayBuffer exists (Node, isolated pages)
const [H, Hkv, w, L, d] = [4, 2, 8, 300, 32];
const q = Float32Array.from({ length: H * w * d }, (_, i) => Math.sin(i));
const k = Float32Array.from({ length: Hkv * L * d }, (_, i) => Math.cos(i * 0.7));

// SnapKV's selection: window scores over f16 keys (as a cache stores them), pooled, the top 16.
async function keep(be: Backend): Promise<number[]> {
  const scores = be.attentionColumnSums(be.upload(q, [H, w, d], 'f32'), be.upload(k, [Hkv, L, d], 'f16'));
  const pooled = be.pool1d(be.reduceGroups(scores, H / Hkv, 'mean'), { kernel: 5, mode: 'avg' });
  return Array.from(await be.topk(pooled, 16).read()); // read() copies out of the wasm memory
}
console.log(await keep(wasm), await keep(new CpuBackend()));
wasm.destroy();
