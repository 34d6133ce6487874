import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Backend, CpuBackend } from '@kvsieve/core';
import { byteLevelTokenizerJson, loadModel, writeRandomModel } from '@kvsieve/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attentionEntropy, type StructKVRun, structkv } from '../src/index.js';

// Imported by a computed name so that typechecking this package does not pull in the WebGPU
// package's sources (and their @webgpu/types).
const KERNELS = '@kvsieve/kernels-webgpu';
interface WebGpuModule {
  createWebGpuBackend(): Promise<Backend & { destroy(): void }>;
}

let gpu: Backend & { destroy(): void };
const dir = mkdtempSync(join(tmpdir(), 'structkv-webgpu-'));
beforeAll(async () => {
  gpu = await ((await import(KERNELS)) as WebGpuModule).createWebGpuBackend();
});
afterAll(() => {
  gpu?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('structkv on the WebGPU backend', () => {
  it('attention entropy agrees with the CPU backend', async () => {
    const cpu = new CpuBackend();
    const [H, Hkv, w, n, d] = [8, 4, 8, 150, 8];
    const q = Float32Array.from({ length: H * w * d }, (_, i) => Math.sin(i * 1.7) * 2);
    const k = Float32Array.from({ length: Hkv * n * d }, (_, i) => Math.cos(i * 0.31) * 2);
    const on = async (b: Backend) =>
      attentionEntropy(b, b.upload(q, [H, w, d], 'f32'), b.upload(k, [Hkv, n, d], 'f32'));
    expect(await on(gpu)).toBeCloseTo(await on(cpu), 3);
  });

  it('finds the same pivot and propagates the same tokens as on the CPU', async () => {
    writeRandomModel(dir, {
      config: {
        architectures: ['LlamaForCausalLM'],
        model_type: 'llama',
        hidden_size: 32,
        intermediate_size: 64,
        num_hidden_layers: 5,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        vocab_size: 260,
        max_position_embeddings: 128,
        rms_norm_eps: 1e-5,
        rope_theta: 10000,
        tie_word_embeddings: false,
      },
      tokenizer: byteLevelTokenizerJson(),
      seed: 9,
    });
    const prompt = Array.from({ length: 64 }, (_, i) => (i * 53 + 7) % 256);
    const result = async (backend: Backend) => {
      const model = await loadModel(dir, { backend });
      const pre = await model.start(prompt, {
        method: structkv({ budget: 8, computeBudget: 16, window: 4 }),
      });
      const out = {
        pivot: (pre.run as StructKVRun).pivotReport().pivot,
        tokens: pre.layers.map((l) => l.tokens),
        positions: (await pre.cache.layer(4).positions()).map((h) => [...h]),
      };
      pre.dispose();
      model.dispose();
      return out;
    };
    const want = await result(new CpuBackend());
    expect(await result(gpu)).toEqual(want);
  });
});
