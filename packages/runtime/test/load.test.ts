import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend, decodeHalf, dequantize, encodeHalf } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import {
  byteLevelTokenizerJson,
  GgufFile,
  loadModel,
  type Model,
  ropeInvFreq,
  writeRandomModel,
} from '../src/index.js';
import { plainInvFreq, referenceLogits } from './fixtures/reference-forward.js';
import { writeTinyGguf } from './fixtures/tiny-gguf.js';
import {
  hfConfig,
  randomWeights,
  type Tensors,
  TINY,
  type TinyShape,
  writeHfFolder,
  writeSafetensors,
} from './fixtures/tiny-model.js';

const PROMPT = [5, 70, 71, 3, 99, 120, 33, 250, 7, 18, 64];

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('Hugging Face folders against an independent f64 forward pass', () => {
  const shapes: [string, TinyShape][] = [
    ['llama (GQA, untied)', TINY],
    ['llama (tied embeddings)', { ...TINY, tied: true }],
    ['mistral', { ...TINY, architecture: 'mistral' }],
    ['qwen2 (q/k/v bias)', { ...TINY, architecture: 'qwen2' }],
    ['qwen3 (q/k norm)', { ...TINY, architecture: 'qwen3', kvHeads: 1 }],
  ];
  it.each(shapes)('%s: prefill logits match, with chunking', async (_, shape) => {
    const dir = writeHfFolder(shape, { seed: 7 });
    const backend = new CpuBackend();
    const model = await loadModel(dir, { backend });
    const expected = referenceLogits(
      shape,
      randomWeights(shape, 7),
      PROMPT,
      plainInvFreq(shape.hidden / shape.heads),
    );
    for (const chunkSize of [256, 4]) {
      const pre = await model.start(PROMPT, { chunkSize });
      expect(maxDiff(pre.logits, expected)).toBeLessThan(1e-4);
      pre.dispose();
    }
    // Decode = prefill of the longer prompt.
    const pre = await model.start(PROMPT.slice(0, -1));
    const stepped = (await pre.step(PROMPT.at(-1)!)).logits!;
    expect(maxDiff(stepped, expected)).toBeLessThan(1e-4);
    pre.dispose();
    model.dispose();
    expect(backend.liveBytes()).toBe(0);
  });

  it('f16 and bf16 safetensors stay 16-bit in memory and compute as f32 weights of the rounded values', async () => {
    const f32 = await loadModel(writeHfFolder(TINY, { seed: 3 }), { backend: new CpuBackend() });
    const ref = await logitsOf(f32, PROMPT);
    for (const dtype of ['F16', 'BF16'] as const) {
      const m = await loadModel(writeHfFolder(TINY, { seed: 3, dtype }), { backend: new CpuBackend() });
      expect(m.weightBytes()).toBe(f32.weightBytes() / 2);
      const half = await logitsOf(m, PROMPT);
      const d = maxDiff(half, ref);
      expect(d).toBeGreaterThan(0);
      expect(d).toBeLessThan(dtype === 'F16' ? 0.02 : 0.2);
      // The same values rounded to 16 bits and stored as F32: the 16-bit model computes exactly these.
      const kind = dtype === 'F16' ? 'f16' : 'bf16';
      const rounded: Tensors = new Map();
      for (const [name, t] of randomWeights(TINY, 3)) {
        rounded.set(name, { shape: t.shape, data: decodeHalf(encodeHalf(t.data, kind), kind) });
      }
      const dir = writeHfFolder(TINY, { seed: 3 });
      writeSafetensors(join(dir, 'model.safetensors'), rounded, 'F32');
      const same = await loadModel(dir, { backend: new CpuBackend() });
      expect(maxDiff(half, await logitsOf(same, PROMPT))).toBeLessThan(1e-5);
      same.dispose();
      m.dispose();
    }
    f32.dispose();
  });

  it('llama3 rope scaling follows the Hugging Face formula', () => {
    const base = plainInvFreq(64, 500000);
    const c = {
      ropeDim: 64,
      ropeTheta: 500000,
      ropeScaling: {
        type: 'llama3' as const,
        factor: 8,
        lowFreqFactor: 1,
        highFreqFactor: 4,
        originalMaxPositions: 8192,
      },
    };
    const got = ropeInvFreq(c as never);
    // High frequencies (short wavelengths) unchanged, low frequencies divided by the factor.
    expect(got[0]).toBeCloseTo(base[0]!, 6);
    expect(got[31]! / base[31]!).toBeCloseTo(1 / 8, 6);
    const i = base.findIndex((f) => {
      const wl = (2 * Math.PI) / f;
      return wl < 8192 && wl > 2048;
    });
    const wl = (2 * Math.PI) / base[i]!;
    const smooth = (8192 / wl - 1) / 3;
    expect(got[i]).toBeCloseTo((1 - smooth) * (base[i]! / 8) + smooth * base[i]!, 6);
  });
});

describe('GGUF files', () => {
  const weights = randomWeights(TINY, 11);
  const expected = referenceLogits(TINY, weights, PROMPT, plainInvFreq(TINY.hidden / TINY.heads));

  it('F32 with llama.cpp-permuted Q/K runs with interleaved RoPE and matches the Hugging Face math', async () => {
    const path = join(writeHfFolder(TINY), 'tiny.gguf');
    writeTinyGguf(path, TINY, weights, 'F32');
    const backend = new CpuBackend();
    const model = await loadModel(path, { backend });
    expect(model.config.ropeStyle).toBe('interleaved');
    const pre = await model.start(PROMPT);
    expect(maxDiff(pre.logits, expected)).toBeLessThan(1e-4);
    pre.dispose();
    model.dispose();
    expect(backend.liveBytes()).toBe(0);
  });

  it('F16 and Q8_0 tensors load (Q8_0 kept as its blocks, dequantized exactly as scale × int8)', async () => {
    for (const type of ['F16', 'Q8_0'] as const) {
      const path = join(writeHfFolder(TINY), `tiny-${type}.gguf`);
      writeTinyGguf(path, TINY, weights, type);
      const model = await loadModel(path, { backend: new CpuBackend() });
      const d = maxDiff(await logitsOf(model, PROMPT), expected);
      expect(d).toBeGreaterThan(0);
      expect(d).toBeLessThan(type === 'F16' ? 0.02 : 0.1);
    }
    const path = join(writeHfFolder(TINY), 'q8.gguf');
    writeTinyGguf(path, TINY, weights, 'Q8_0');
    const g = new GgufFile(path);
    const info = g.tensors.get('blk.0.ffn_up.weight')!;
    const raw = readFileSync(path).subarray(info.offset, info.offset + 34);
    const stored = g.readTensor('blk.0.ffn_up.weight');
    expect(stored.dtype).toBe('q8_0');
    expect(Buffer.from(stored.data.buffer, stored.data.byteOffset, 34).equals(raw)).toBe(true);
    const values = dequantize('q8_0', stored.data as Uint8Array, stored.shape);
    const d = halfToFloat(raw.readUInt16LE(0));
    for (let i = 0; i < 32; i++) expect(values[i]).toBe(Math.fround(d * raw.readInt8(2 + i)));
    g.close();
  });

  it('the SentencePiece tokenizer from GGUF metadata adds BOS and round-trips text', async () => {
    const path = join(writeHfFolder(TINY), 'tok.gguf');
    writeTinyGguf(path, TINY, weights, 'F32');
    const model = await loadModel(path, { backend: new CpuBackend() });
    const ids = model.tokenizer.encode('héllo wörld');
    expect(ids[0]).toBe(1);
    expect(model.tokenizer.decode(ids.slice(1))).toBe(' héllo wörld');
  });
});

function halfToFloat(h: number): number {
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  const s = h & 0x8000 ? -1 : 1;
  return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
}

describe('writeRandomModel', () => {
  it('writes the same seeded weights as the test writer, loadable as a model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvsieve-random-'));
    writeRandomModel(dir, { config: hfConfig(TINY), tokenizer: byteLevelTokenizerJson(3), seed: 7 });
    const model = await loadModel(dir, { backend: new CpuBackend() });
    const expected = referenceLogits(
      TINY,
      randomWeights(TINY, 7),
      PROMPT,
      plainInvFreq(TINY.hidden / TINY.heads),
    );
    expect(maxDiff(await logitsOf(model, PROMPT), expected)).toBeLessThan(1e-4);
    expect(model.tokenizer.decode(model.tokenizer.encode('héllo <x>'))).toBe('héllo <x>');
  });
});

describe('sharded safetensors', () => {
  it('loads the shards a model.safetensors.index.json names, and reports a missing shard', async () => {
    const dir = writeHfFolder(TINY, { seed: 7 });
    rmSync(join(dir, 'model.safetensors'));
    const all = [...randomWeights(TINY, 7)];
    const halves = [new Map(all.slice(0, 9)), new Map(all.slice(9))];
    const weightMap: Record<string, string> = {};
    halves.forEach((h, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      writeSafetensors(join(dir, file), h);
      for (const name of h.keys()) weightMap[name] = file;
    });
    writeFileSync(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: {}, weight_map: weightMap }),
    );
    const model = await loadModel(dir, { backend: new CpuBackend() });
    const expected = referenceLogits(
      TINY,
      randomWeights(TINY, 7),
      PROMPT,
      plainInvFreq(TINY.hidden / TINY.heads),
    );
    expect(maxDiff(await logitsOf(model, PROMPT), expected)).toBeLessThan(1e-4);
    rmSync(join(dir, 'model-00002-of-00002.safetensors'));
    await expect(loadModel(dir, { backend: new CpuBackend() })).rejects.toThrow(
      /names shard .*model-00002-of-00002\.safetensors, which is missing/,
    );
  });
});

/** Next-token logits after a prompt, from a session that is freed at once. */
async function logitsOf(model: Model, ids: readonly number[]): Promise<Float32Array> {
  const session = await model.start(ids);
  try {
    return session.logits;
  } finally {
    session.dispose();
  }
}
