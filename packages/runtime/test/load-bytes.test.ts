import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CpuBackend, OptionError } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import { loadModel, type Model, ModelFileError, type ModelFiles } from '../src/index.js';
import { plainInvFreq, referenceLogits } from './fixtures/reference-forward.js';
import { writeTinyGguf } from './fixtures/tiny-gguf.js';
import { randomWeights, TINY, writeHfFolder, writeSafetensors } from './fixtures/tiny-model.js';

// loadModel({ name: bytes }): what a browser does with fetched files. It must load exactly what
// loading the same files by path loads, and refuse the same bad files with the same errors.

const PROMPT = [5, 70, 71, 3, 99, 120, 33, 250, 7, 18, 64];

function filesOf(dir: string): Record<string, Uint8Array> {
  return Object.fromEntries(readdirSync(dir).map((n) => [n, new Uint8Array(readFileSync(join(dir, n)))]));
}

async function logitsOf(model: Model): Promise<Float32Array> {
  const session = await model.start(PROMPT);
  try {
    return Float32Array.from(session.logits);
  } finally {
    session.dispose();
    model.dispose();
  }
}

describe('loadModel from the files bytes', () => {
  const weights = randomWeights(TINY, 11);
  const expected = referenceLogits(TINY, weights, PROMPT, plainInvFreq(TINY.hidden / TINY.heads));

  it('a Hugging Face folder gives the same logits as loading it by path (Uint8Array and ArrayBuffer)', async () => {
    const dir = writeHfFolder(TINY, { seed: 11 });
    const byPath = await logitsOf(await loadModel(dir));
    const files = filesOf(dir);
    expect(await logitsOf(await loadModel(files))).toEqual(byPath);
    const buffers = Object.fromEntries(Object.entries(files).map(([n, b]) => [n, b.slice().buffer]));
    expect(await logitsOf(await loadModel(buffers))).toEqual(byPath);
    // And both are the model's math.
    const d = byPath.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i]!)), 0);
    expect(d).toBeLessThan(1e-4);
  });

  it('a sharded folder loads from its index and shards by name', async () => {
    const dir = writeHfFolder(TINY, { seed: 11 });
    rmSync(join(dir, 'model.safetensors'));
    const names = [...weights.keys()];
    const half = Math.ceil(names.length / 2);
    const shards = [
      new Map(names.slice(0, half).map((n) => [n, weights.get(n)!])),
      new Map(names.slice(half).map((n) => [n, weights.get(n)!])),
    ];
    const map: Record<string, string> = {};
    shards.forEach((s, i) => {
      writeSafetensors(join(dir, `part-${i}.safetensors`), s);
      for (const n of s.keys()) map[n] = `part-${i}.safetensors`;
    });
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: map }));
    const byPath = await logitsOf(await loadModel(dir));
    expect(await logitsOf(await loadModel(filesOf(dir)))).toEqual(byPath);
  });

  it('a GGUF file gives the same logits as loading it by path', async () => {
    const path = join(writeHfFolder(TINY), 'tiny.gguf');
    writeTinyGguf(path, TINY, weights, 'F32');
    const byPath = await logitsOf(await loadModel(path));
    const bytes = new Uint8Array(readFileSync(path));
    expect(await logitsOf(await loadModel({ 'tiny.gguf': bytes }))).toEqual(byPath);
  });

  it('refuses what it cannot load with one typed error naming the file, and frees what it made', async () => {
    const dir = writeHfFolder(TINY, { seed: 11 });
    const files = filesOf(dir);
    const backend = new CpuBackend();
    const refused = async (f: ModelFiles) =>
      loadModel(f, { backend }).then(
        () => null,
        (e: unknown) => e,
      );

    const { 'tokenizer.json': _, ...noTokenizer } = files;
    const missing = await refused(noTokenizer);
    expect(missing).toBeInstanceOf(ModelFileError);
    expect((missing as Error).message).toBe(
      'tokenizer.json is missing; a Hugging Face model folder needs it',
    );

    const truncated = await refused({
      ...files,
      'model.safetensors': files['model.safetensors']!.subarray(0, 100),
    });
    expect(truncated).toBeInstanceOf(ModelFileError);
    expect((truncated as Error).message).toMatch(/^model\.safetensors: /);

    const notBytes = await refused({ ...files, 'config.json': 'x' as unknown as Uint8Array });
    expect(notBytes).toBeInstanceOf(ModelFileError);
    expect((notBytes as Error).message).toMatch(/config\.json in the model files given must be a Uint8Array/);

    const twoGgufs = await refused({ 'a.gguf': new Uint8Array(8), 'b.gguf': new Uint8Array(8) });
    expect(twoGgufs).toBeInstanceOf(OptionError);

    const notGguf = await refused({ 'x.gguf': new Uint8Array(64) });
    expect(notGguf).toBeInstanceOf(ModelFileError);
    expect((notGguf as Error).message).toMatch(/^x\.gguf: /);
    expect(backend.liveBytes()).toBe(0);
  });
});
