import { CpuBackend } from '@kvsieve/core';
import { createWebGpuBackend } from '@kvsieve/kernels-webgpu';

/** The README example: top-k of window scores on WebGPU, checked against the CPU reference. */
export async function quickstart(): Promise<{ gpu: number[]; cpu: number[] }> {
  const gpu = await createWebGpuBackend(); // Dawn in Node, navigator.gpu in a browser
  const cpu = new CpuBackend();
  const [H, Hkv, w, L, d] = [4, 2, 8, 300, 32];
  const q = Float32Array.from({ length: H * w * d }, (_, i) => Math.sin(i));
  const k = Float32Array.from({ length: Hkv * L * d }, (_, i) => Math.cos(i * 0.7));

  const run = async (be: typeof cpu | typeof gpu) => {
    const scores = be.attentionColumnSums(be.upload(q, [H, w, d], 'f32'), be.upload(k, [Hkv, L, d], 'f32'));
    const pooled = be.pool1d(be.reduceGroups(scores, H / Hkv, 'mean'), { kernel: 5, mode: 'avg' });
    return Array.from(await be.topk(pooled, 16).read()); // the only host read-back
  };
  const result = { gpu: await run(gpu), cpu: await run(cpu) };
  gpu.destroy();
  return result;
}
