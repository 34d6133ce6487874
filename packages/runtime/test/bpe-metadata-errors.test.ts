import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import { ModelConfigError, ModelFileError } from '../src/errors.js';
import type { GgufValue } from '../src/io/gguf.js';
import { loadModel } from '../src/load.js';
import { BpeTokenizer } from '../src/tokenizer/bpe.js';
import { tokenizerFromGguf } from '../src/tokenizer/gguf-vocab.js';
import { tinyBpeMeta, writeTinyBpeModel } from './fixtures/bpe-gguf.js';
import type { GgufMeta } from './fixtures/gguf-writer.js';

/** The error tokenizerFromGguf throws for the tiny vocabulary with `overrides` (undefined removes a key). */
function errorFor(overrides: Record<string, GgufMeta[string] | undefined>): Error {
  const meta: Record<string, GgufMeta[string] | undefined> = { ...tinyBpeMeta(), ...overrides };
  try {
    tokenizerFromGguf({ get: (k) => meta[k]?.value as GgufValue | undefined }, 'm.gguf');
  } catch (e) {
    return e as Error;
  }
  throw new Error('no error');
}

function expectOneLine(e: Error, type: typeof ModelFileError | typeof ModelConfigError, re: RegExp): void {
  expect(e).toBeInstanceOf(type);
  expect(e.message).toMatch(re);
  expect(e.message.startsWith('m.gguf: ')).toBe(true);
  expect(e.message).not.toMatch(/[\r\n]/);
}

describe('bad tokenizer metadata is a typed one-line error naming the file and the field', () => {
  it('an unsupported tokenizer.ggml.pre names the value and the supported ones', () => {
    const e = errorFor({ 'tokenizer.ggml.pre': { type: 'string', value: 'deepseek-llm' } });
    expectOneLine(
      e,
      ModelConfigError,
      /tokenizer\.ggml\.pre "deepseek-llm" is not supported; supported: llama-bpe, llama3, llama-v3, qwen2, deepseek-r1-qwen, smollm, gpt-2, default; load the model's Hugging Face folder/,
    );
  });

  it('"gpt2" as a pre-tokenizer is refused, as llama.cpp refuses it, pointing at "gpt-2"', () => {
    const e = errorFor({ 'tokenizer.ggml.pre': { type: 'string', value: 'gpt2' } });
    expectOneLine(
      e,
      ModelConfigError,
      /"gpt2" is not supported \(llama\.cpp names GPT-2's pre-tokenizer "gpt-2"\)/,
    );
  });

  it('a missing pre-tokenizer is llama.cpp’s "default"', () => {
    const meta: Record<string, GgufMeta[string] | undefined> = {
      ...tinyBpeMeta(),
      'tokenizer.ggml.pre': undefined,
    };
    const tok = tokenizerFromGguf({ get: (k) => meta[k]?.value as GgufValue | undefined }, 'm.gguf');
    expect((tok as BpeTokenizer).pre).toBe('default');
  });

  it('an unknown tokenizer.ggml.model names the value and the supported ones', () => {
    const e = errorFor({ 'tokenizer.ggml.model': { type: 'string', value: 't5' } });
    expectOneLine(
      e,
      ModelConfigError,
      /GGUF tokenizer model "t5" is not supported \(supported: "llama", "gpt2"\)/,
    );
  });

  it('missing or malformed merges', () => {
    expectOneLine(
      errorFor({ 'tokenizer.ggml.merges': undefined }),
      ModelFileError,
      /tokenizer\.ggml\.merges is missing; a "gpt2" \(BPE\) tokenizer needs its merges, reconvert the model/,
    );
    expectOneLine(
      errorFor({ 'tokenizer.ggml.merges': { type: 'strings', value: ['Ġ t', 'he'] } }),
      ModelFileError,
      /tokenizer\.ggml\.merges\[1\] is "he", not "left right"/,
    );
    expectOneLine(
      errorFor({ 'tokenizer.ggml.merges': { type: 'strings', value: ['Ġ '] } }),
      ModelFileError,
      /merges\[0\] is "Ġ ", not "left right"/,
    );
    expectOneLine(
      errorFor({ 'tokenizer.ggml.merges': { type: 'i32s', value: [1, 2] } }),
      ModelFileError,
      /metadata tokenizer\.ggml\.merges must be an array of strings/,
    );
  });

  it('token types of the wrong length or out of range', () => {
    expectOneLine(
      errorFor({ 'tokenizer.ggml.token_type': { type: 'i32s', value: [1, 1] } }),
      ModelFileError,
      /tokenizer\.ggml\.token_type must be an array of 261 finite numbers \(one per token\)/,
    );
    const types = Array.from({ length: 261 }, () => 1);
    types[7] = 9;
    expectOneLine(
      errorFor({ 'tokenizer.ggml.token_type': { type: 'i32s', value: types } }),
      ModelFileError,
      /tokenizer\.ggml\.token_type\[7\] is 9; token types are integers 0–6/,
    );
  });

  it('special token ids outside the vocabulary or of the wrong type', () => {
    expectOneLine(
      errorFor({ 'tokenizer.ggml.eos_token_id': { type: 'u32', value: 261 } }),
      ModelFileError,
      /tokenizer\.ggml\.eos_token_id is 261, not a token id in \[0, 261\)/,
    );
    expectOneLine(
      errorFor({ 'tokenizer.ggml.padding_token_id': { type: 'string', value: '3' } }),
      ModelFileError,
      /tokenizer\.ggml\.padding_token_id is "3", not a token id/,
    );
  });

  it('add_bos_token without a BOS id, and flags that are not booleans', () => {
    // gpt2 vocabularies default BOS and EOS to id 11, so a file needs ids below 11 gone to lack one.
    const meta = tinyBpeMeta();
    const tokens = (meta['tokenizer.ggml.tokens']!.value as string[]).slice(0, 11);
    expectOneLine(
      errorFor({
        'tokenizer.ggml.tokens': { type: 'strings', value: tokens },
        'tokenizer.ggml.token_type': undefined,
        'tokenizer.ggml.bos_token_id': undefined,
        'tokenizer.ggml.eos_token_id': undefined,
        'tokenizer.ggml.merges': { type: 'strings', value: [] },
        'tokenizer.ggml.add_bos_token': { type: 'bool', value: true },
      }),
      ModelFileError,
      /add_bos_token asks for a BOS token but tokenizer\.ggml\.bos_token_id is missing/,
    );
    expectOneLine(
      errorFor({ 'tokenizer.ggml.add_bos_token': { type: 'u32', value: 1 } }),
      ModelFileError,
      /metadata tokenizer\.ggml\.add_bos_token must be a boolean, got 1/,
    );
  });
});

describe('loadModel with a BPE GGUF', () => {
  it('reads the vocabulary and refuses a bad one before allocating weights', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvsieve-bpe-bad-'));
    const good = join(dir, 'good.gguf');
    writeTinyBpeModel(good);
    const model = await loadModel(good);
    expect(model.tokenizer).toBeInstanceOf(BpeTokenizer);
    expect(model.tokenizer.encode(' the')).toEqual([258]);
    model.dispose();

    const bad = join(dir, 'bad.gguf');
    writeTinyBpeModel(bad, { 'tokenizer.ggml.pre': { type: 'string', value: 'tekken' } });
    const backend = new CpuBackend();
    await expect(loadModel(bad, { backend })).rejects.toThrow(
      new RegExp(
        `^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: tokenizer\\.ggml\\.pre "tekken" is not supported`,
      ),
    );
    expect(backend.liveBytes()).toBe(0);
  });
});
