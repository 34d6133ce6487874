import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Backend, CpuBackend } from '@kvsieve/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GgufFile, loadModel, type Model, ModelConfigError, ModelFileError } from '../src/index.js';
import { walkGguf } from './fixtures/gguf-walk.js';
import { type GgufTensorType, writeGguf } from './fixtures/gguf-writer.js';
import { q4kmType, quantizedModel, type WeightScales } from './fixtures/quant-model.js';
import { plainInvFreq, referenceLogits } from './fixtures/reference-forward.js';
import { ggufMetadata } from './fixtures/tiny-gguf.js';
import type { TinyShape } from './fixtures/tiny-model.js';

// GGUF files whose weights are random valid blocks of each ggml type, loaded kept quantized: the
// logits equal an f64 forward over core's exact dequantization of the same blocks, on the CPU and
// on WebGPU, and the weights take on the backend what they take in the file.

/** Rows of 256 (a k-quant block) everywhere: hidden, ffn and the attention width. */
export const QSHAPE: TinyShape = {
  architecture: 'llama',
  layers: 2,
  hidden: 256,
  heads: 4,
  kvHeads: 2,
  ffn: 512,
  vocab: 300,
  maxPositions: 128,
  tied: false,
};
const SCALES: WeightScales = { embed: 1, output: 0.5, layer: 0.15 };
const PROMPT = [1, 44, 280, 7, 7, 150, 299, 12, 90, 3];
const TYPES: GgufTensorType[] = [
  'Q4_0',
  'Q4_1',
  'Q5_0',
  'Q5_1',
  'Q8_0',
  'Q2_K',
  'Q3_K',
  'Q4_K',
  'Q5_K',
  'Q6_K',
  'IQ4_NL',
  'IQ4_XS',
];

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function writeModel(shape: TinyShape, typeOf: (name: string) => GgufTensorType, seed: number) {
  const q = quantizedModel(shape, typeOf, seed, SCALES);
  const path = join(mkdtempSync(join(tmpdir(), 'kvsieve-quant-')), 'model.gguf');
  writeGguf(path, ggufMetadata(shape), q.tensors);
  const expected = referenceLogits(shape, q.weights, PROMPT, plainInvFreq(shape.hidden / shape.heads));
  return { path, expected, types: q.types };
}

/** Prefill logits, then the decode logits of one more token (GEMV and tiled paths both run). */
async function logits(model: Model): Promise<[Float32Array, Float32Array]> {
  const s = await model.start(PROMPT.slice(0, -1));
  const prefill = Float32Array.from(s.logits);
  const step = Float32Array.from((await s.step(PROMPT.at(-1)!)).logits!);
  s.dispose();
  return [prefill, step];
}

describe('quantized GGUF weights, kept quantized', () => {
  let gpu: (Backend & { destroy(): void }) | undefined;
  beforeAll(async () => {
    const kernels = '@kvsieve/kernels-webgpu';
    const mod = (await import(kernels)) as { createWebGpuBackend(): Promise<Backend & { destroy(): void }> };
    gpu = await mod.createWebGpuBackend();
  });
  afterAll(() => gpu?.destroy());

  const cases: [string, (name: string) => GgufTensorType, TinyShape][] = [
    ...TYPES.map((t): [string, (name: string) => GgufTensorType, TinyShape] => [t, () => t, QSHAPE]),
    ['Q4_K_M (Q6_K output, attn_v and ffn_down in layer 1)', q4kmType(QSHAPE.layers), QSHAPE],
    ['Q4_K_M, tied embeddings (token_embd Q6_K)', q4kmType(QSHAPE.layers, true), { ...QSHAPE, tied: true }],
  ];
  it.each(cases)(
    '%s: CPU and WebGPU logits equal an f64 forward on the dequantized weights',
    async (_, typeOf, shape) => {
      const { path, expected, types } = writeModel(shape, typeOf, 11);
      const g = new GgufFile(path);
      const fileBytes = g.tensorBytes;
      g.close();
      const cpu = new CpuBackend();
      const onCpu = await loadModel(path, { backend: cpu });
      // Every tensor of the file is a weight, uploaded as stored: the same bytes on the backend.
      expect(onCpu.weightBytes()).toBe(fileBytes);
      expect(cpu.liveBytes()).toBe(fileBytes + onCpu.config.ropeDim * 2);
      const [cpuPrefill, cpuStep] = await logits(onCpu);
      const scale = Math.max(...expected.map(Math.abs));
      expect(maxDiff(cpuStep, expected)).toBeLessThan(1e-5 * scale + 1e-5);
      onCpu.dispose();
      const onGpu = await loadModel(path, { backend: gpu! });
      expect(onGpu.weightBytes()).toBe(fileBytes);
      const [gpuPrefill, gpuStep] = await logits(onGpu);
      onGpu.dispose();
      const d = Math.max(maxDiff(gpuPrefill, cpuPrefill), maxDiff(gpuStep, cpuStep));
      console.log(
        `[quantized GGUF] ${[...new Set(types.values())].join('+')}: max |CPU − f64| ${maxDiff(cpuStep, expected).toExponential(2)}, max |WebGPU − CPU| ${d.toExponential(2)} (logits up to ${scale.toFixed(2)})`,
      );
      expect(d).toBeLessThan(1e-4 * scale);
    },
  );

  it('a quantized norm weight is refused with a ModelConfigError naming the tensor', async () => {
    const q = quantizedModel(QSHAPE, () => 'Q4_0', 3, SCALES);
    const norm = q.tensors.find((t) => t.name === 'blk.1.ffn_norm.weight')!;
    const i = q.tensors.indexOf(norm);
    // A [256] norm stored as 8 Q4_0 blocks.
    q.tensors[i] = { ...norm, type: 'Q4_0', data: new Uint8Array(8 * 18) };
    const path = join(mkdtempSync(join(tmpdir(), 'kvsieve-quant-')), 'norm.gguf');
    writeGguf(path, ggufMetadata(QSHAPE), q.tensors);
    const backend = new CpuBackend();
    const err = await loadModel(path, { backend }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelConfigError);
    expect((err as Error).message).toMatch(
      /tensor blk\.1\.ffn_norm\.weight is Q4_0, but norm weights and biases must be F32, F16 or BF16/,
    );
    expect(backend.liveBytes()).toBe(0);
  });

  it.each([
    ['Q4_K', 2, 'min'], // dmin at byte 2
    ['Q6_K', 208, 'scale'], // d at the block's end
    ['Q2_K', 82, 'min'],
  ] as const)('a NaN %s block %s field is refused by name', async (type, offset, field) => {
    const { path } = writeModel(QSHAPE, () => type, 5);
    const buf = readFileSync(path);
    const walked = walkGguf(buf);
    const t = walked.tensors.find((x) => x.name === 'blk.0.ffn_up.weight')!;
    const blockBytes = type === 'Q4_K' ? 144 : type === 'Q6_K' ? 210 : 84;
    buf.writeUInt16LE(0x7e00, walked.dataStart + t.rel + 5 * blockBytes + offset);
    writeFileSync(path, buf);
    const backend = new CpuBackend();
    const err = await loadModel(path, { backend }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFileError);
    expect((err as Error).message).toMatch(
      new RegExp(
        `tensor blk\\.0\\.ffn_up\\.weight holds NaN at the ${field} of ${type} block 5 \\(element 1280\\)`,
      ),
    );
    expect(backend.liveBytes()).toBe(0);
  });
});
