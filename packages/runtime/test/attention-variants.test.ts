import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Backend, type CompressionMethod, CpuBackend, METHOD_SPEC } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import { generate, loadModel, ModelConfigError } from '../src/index.js';
import { plainInvFreq, referenceLogits } from './fixtures/reference-forward.js';
import { hfConfig, randomWeights, TINY, type TinyShape, writeHfFolder } from './fixtures/tiny-model.js';

const PROMPT = Array.from({ length: 30 }, (_, i) => (i * 37 + 11) % 256);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

describe('Mistral sliding-window attention', () => {
  const shape: TinyShape = { ...TINY, architecture: 'mistral', slidingWindow: 6 };

  it('prefill and decode attend to the last slidingWindow positions only, as an independent f64 forward does', async () => {
    const model = await loadModel(writeHfFolder(shape, { seed: 4 }));
    expect(model.config.slidingWindow).toBe(6);
    expect(model.info.slidingWindow).toBe(6);
    const w = randomWeights(shape, 4);
    const inv = plainInvFreq(shape.hidden / shape.heads);
    const expected = referenceLogits(shape, w, PROMPT, inv, 1e-5, 6);
    const full = referenceLogits(shape, w, PROMPT, inv);
    for (const chunkSize of [256, 4]) {
      const s = await model.start(PROMPT, { chunkSize });
      expect(maxDiff(s.logits, expected)).toBeLessThan(1e-4);
      s.dispose();
    }
    // The window changes the result: a test that could not fail would not show it.
    expect(maxDiff(expected, full)).toBeGreaterThan(1e-3);
    // Decode: the last prompt token fed as a step sees the same window.
    const s = await model.start(PROMPT.slice(0, -1));
    expect(maxDiff((await s.step(PROMPT.at(-1)!)).logits!, expected)).toBeLessThan(1e-4);
    s.dispose();
    model.dispose();
  });

  it('a Qwen per-layer sliding window and mixture-of-experts configs are refused by name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvsieve-swa-'));
    writeHfFolder({ ...TINY, architecture: 'qwen2' }, { dir });
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ ...hfConfig({ ...TINY, architecture: 'qwen2' }), use_sliding_window: true }),
    );
    await expect(loadModel(dir)).rejects.toThrow(ModelConfigError);
    await expect(loadModel(dir)).rejects.toThrow(/use_sliding_window is true: per-layer sliding windows/);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...hfConfig(TINY), num_local_experts: 8 }));
    await expect(loadModel(dir)).rejects.toThrow(
      /num_local_experts is 8: mixture-of-experts models are not supported/,
    );
  });
});

describe('an f16 KV cache', () => {
  it('holds half the bytes, stays close to the f32 cache, and serves every path: methods, shared prefill, decode hooks', async () => {
    const backend = new CpuBackend();
    const model = await loadModel(writeHfFolder(TINY, { seed: 7 }), { backend });
    const f32 = await model.start(PROMPT);
    const f16 = await model.start(PROMPT, { kvDtype: 'f16' });
    expect(f16.cache.dtype).toBe('f16');
    const d = TINY.hidden / TINY.heads;
    expect(f16.usedBytes()).toBe(TINY.layers * TINY.kvHeads * PROMPT.length * (2 * d * 2 + 4));
    expect(f16.usedBytes()).toBeLessThan(0.55 * f32.usedBytes());
    expect(model.fullCacheBytes(PROMPT.length, 'f16')).toBe(f16.usedBytes());
    // Attention reads keys and values as the cache stores them (as llama.cpp's f16 cache does).
    expect(maxDiff(f16.logits, f32.logits)).toBeGreaterThan(0);
    expect(maxDiff(f16.logits, f32.logits)).toBeLessThan(5e-3);
    const a = (await f32.step(5)).logits!;
    const b = (await f16.step(5)).logits!;
    expect(maxDiff(a, b)).toBeGreaterThan(0);
    expect(maxDiff(a, b)).toBeLessThan(5e-3);
    f32.dispose();
    f16.dispose();

    // A method sees f32 keys whatever the cache stores, and its selection is applied to the f16 cache.
    const keepEven: CompressionMethod = {
      spec: METHOD_SPEC,
      name: 'keep-even',
      options: {},
      begin: () => ({
        observe: { window: 2, decodeAttention: true },
        async afterLayer(ctx) {
          expect(ctx.keys.dtype).toBe('f32');
          expect(ctx.prefixScores().shape).toEqual([TINY.kvHeads, ctx.length - 2]);
          const row = Int32Array.from({ length: Math.ceil(ctx.length / 2) }, (_, i) => 2 * i);
          row[row.length - 1] = ctx.length - 1;
          return { keep: Array.from({ length: TINY.kvHeads }, () => row) };
        },
        async afterDecodeStep(ctx) {
          expect(ctx.attention).toHaveLength(TINY.layers);
          return undefined;
        },
      }),
    };
    const shared = await model.startShared(PROMPT, [null, keepEven], { kvDtype: 'f16' });
    const alone = await model.start(PROMPT, { method: keepEven, kvDtype: 'f16' });
    expect(shared.sessions[1]!.layers).toEqual(alone.layers);
    expect(await shared.sessions[1]!.cache.layer(1).positions()).toEqual(
      await alone.cache.layer(1).positions(),
    );
    expect((await shared.sessions[1]!.step(9)).logits).toEqual((await alone.step(9)).logits);
    for (const s of [...shared.sessions, alone]) s?.dispose();

    const run = generate(model, PROMPT, { maxTokens: 4, kvDtype: 'f16', stopTokens: [] });
    let r = await run.next();
    while (!r.done) r = await run.next();
    expect(r.value.cache.dtype).toBe('f16');
    expect(r.value.cache.keptBytes).toBe(r.value.cache.fullBytes);
    await expect(model.start(PROMPT, { kvDtype: 'bf16' as never })).rejects.toThrow(
      /kvDtype must be one of f32, f16/,
    );
    expect(backend.liveBytes()).toBeGreaterThan(0);
    model.dispose();
    expect(backend.liveBytes()).toBe(0);
  });
});

describe('on WebGPU', () => {
  it('a sliding window and an f16 cache give the CPU oracle’s logits, prefill and decode, with decode attention mass', async () => {
    // A computed name, as llama-cpp-agreement.webgpu.test.ts: the runtime does not depend on it.
    const kernels = '@kvsieve/kernels-webgpu';
    const { createWebGpuBackend } = (await import(kernels)) as {
      createWebGpuBackend(): Promise<Backend & { destroy(): void }>;
    };
    const gpu = await createWebGpuBackend();
    const shape: TinyShape = { ...TINY, architecture: 'mistral', slidingWindow: 6 };
    const dir = writeHfFolder(shape, { seed: 4 });
    const masses: number[][] = [];
    const observer = (sink: number[][]): CompressionMethod => ({
      spec: METHOD_SPEC,
      name: 'observer',
      options: {},
      begin: () => ({
        observe: { window: 3, decodeAttention: true },
        afterLayer: async () => ({ keep: 'all' }),
        async afterDecodeStep(ctx) {
          sink.push(Array.from(await ctx.attention![0]!.readF32()));
          return undefined;
        },
      }),
    });
    const run = async (backend: Backend, sink: number[][]) => {
      const model = await loadModel(dir, { backend });
      const s = await model.start(PROMPT, { kvDtype: 'f16', method: observer(sink) });
      const out = [Float32Array.from(s.logits), (await s.step(7)).logits!];
      s.dispose();
      model.dispose();
      return out;
    };
    const cpuMass: number[][] = [];
    const [cpuPre, cpuStep] = await run(new CpuBackend(), cpuMass);
    const [gpuPre, gpuStep] = await run(gpu, masses);
    expect(maxDiff(gpuPre!, cpuPre!)).toBeLessThan(2e-3);
    expect(maxDiff(gpuStep!, cpuStep!)).toBeLessThan(2e-3);
    expect(maxDiff(masses[0]!, cpuMass[0]!)).toBeLessThan(1e-4);
    gpu.destroy();
  });
});
