import { readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CpuBackend, IndexError, OptionError } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import { generate, loadModel, ModelConfigError, ModelFileError } from '../src/index.js';
import { writeTinyGguf } from './fixtures/tiny-gguf.js';
import { hfConfig, randomWeights, TINY, writeHfFolder } from './fixtures/tiny-model.js';

/** Load must fail with `type` and a message matching `pattern`, leaving nothing allocated. */
async function expectLoadError(
  path: string,
  type: new (...a: never[]) => Error,
  pattern: RegExp,
): Promise<void> {
  const backend = new CpuBackend();
  const err = await loadModel(path, { backend }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(type);
  expect((err as Error).message).toMatch(pattern);
  expect(backend.liveBytes()).toBe(0);
}

describe('bad model folders and files', () => {
  it('a missing path, config.json, tokenizer.json or weights', async () => {
    await expectLoadError('/nonexistent/model', ModelFileError, /\/nonexistent\/model does not exist/);
    for (const file of ['config.json', 'tokenizer.json', 'model.safetensors']) {
      const dir = writeHfFolder();
      rmSync(join(dir, file));
      await expectLoadError(
        dir,
        ModelFileError,
        new RegExp(file === 'model.safetensors' ? 'neither model.safetensors' : `${file} is missing`),
      );
    }
  });

  it('a safetensors header length beyond the file', async () => {
    const dir = writeHfFolder();
    const p = join(dir, 'model.safetensors');
    const buf = readFileSync(p);
    buf.writeBigUInt64LE(BigInt(buf.length * 2), 0);
    writeFileSync(p, buf);
    await expectLoadError(
      dir,
      ModelFileError,
      /model\.safetensors: header length \d+ exceeds the file \(\d+ bytes\)/,
    );
  });

  it('truncated tensor data names the tensor', async () => {
    const dir = writeHfFolder();
    const p = join(dir, 'model.safetensors');
    truncateSync(p, readFileSync(p).length - 10);
    await expectLoadError(
      dir,
      ModelFileError,
      /tensor model\.layers\.1\.mlp\.down_proj\.weight data ends at byte \d+ but the file has \d+ bytes; the file is truncated/,
    );
  });

  it('a tensor whose shape disagrees with config.json', async () => {
    const dir = writeHfFolder();
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...hfConfig(TINY), intermediate_size: 96 }));
    await expectLoadError(
      dir,
      ModelConfigError,
      /tensor model\.layers\.0\.mlp\.gate_proj\.weight has shape \[64, 32\] but .*config\.json implies \[96, 32\]/,
    );
  });

  it('an unsupported tensor dtype, found after other tensors were uploaded, frees them', async () => {
    const dir = writeHfFolder();
    const p = join(dir, 'model.safetensors');
    const buf = readFileSync(p);
    const n = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + n).toString());
    header['model.layers.1.mlp.down_proj.weight'].dtype = 'I32';
    const json = JSON.stringify(header).padEnd(n, ' ');
    expect(json.length).toBe(n);
    buf.write(json, 8);
    writeFileSync(p, buf);
    await expectLoadError(
      dir,
      ModelConfigError,
      /tensor model\.layers\.1\.mlp\.down_proj\.weight is I32; supported weight dtypes are F32, F16 and BF16/,
    );
  });

  it('an unknown architecture is rejected by name', async () => {
    const dir = writeHfFolder();
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...hfConfig(TINY), model_type: 'gpt2' }));
    await expectLoadError(
      dir,
      ModelConfigError,
      /architecture "gpt2" is not supported; supported: llama, mistral, qwen2, qwen3/,
    );
  });

  it('GGUF: not GGUF, truncated, unsupported quantization', async () => {
    const dir = writeHfFolder();
    await expectLoadError(join(dir, 'config.json'), ModelFileError, /not a GGUF file/);
    const p = join(dir, 'm.gguf');
    writeTinyGguf(p, TINY, randomWeights(TINY), 'F32');
    truncateSync(p, readFileSync(p).length - 100);
    await expectLoadError(
      p,
      ModelFileError,
      /tensor blk\.1\.ffn_down\.weight needs bytes .* the file is truncated/,
    );
    writeTinyGguf(p, TINY, randomWeights(TINY), 'Q8_1');
    await expectLoadError(
      p,
      ModelFileError,
      /tensor token_embd\.weight is Q8_1; supported GGUF tensor types are F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS, BF16 \(/,
    );
  });
});

describe('bad prompts', () => {
  it('an empty prompt, a prompt beyond the maximum positions, out-of-vocabulary ids', async () => {
    const backend = new CpuBackend();
    const model = await loadModel(writeHfFolder(), { backend });
    const live = backend.liveBytes();
    await expect(model.start([])).rejects.toThrow(OptionError);
    await expect(generate(model, '').next()).rejects.toThrow(/the prompt is empty/);
    const long = Array.from({ length: TINY.maxPositions + 1 }, () => 5);
    await expect(model.start(long)).rejects.toThrow(
      /the prompt has 129 tokens but the model handles at most 128 positions/,
    );
    await expect(model.start([5, 999])).rejects.toThrow(IndexError);
    await expect(generate(model, 'hi', { maxTokens: 0 }).next()).rejects.toThrow(
      /maxTokens must be a positive integer/,
    );
    await expect(generate(model, 'hi', { temperature: -1 }).next()).rejects.toThrow(/temperature must be/);
    await expect(generate(model, 'hi', { topP: 0 }).next()).rejects.toThrow(/topP must be in \(0, 1\]/);
    expect(backend.liveBytes()).toBe(live);
  });
});
