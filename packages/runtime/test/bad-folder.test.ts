import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CpuBackend } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import { loadModel, ModelConfigError, ModelFileError, SafetensorsSource } from '../src/index.js';
import { editSafetensorsHeader, expectLoadError, tmp } from './fixtures/bad-files.js';
import { hfConfig, randomWeights, TINY, writeHfFolder, writeSafetensors } from './fixtures/tiny-model.js';

describe('safetensors headers are schema-checked', () => {
  it('a null header, a null entry, data_offsets not an array', async () => {
    const cases: [(h: Record<string, unknown>) => unknown, RegExp][] = [
      [() => null, /header does not start with "\{"/],
      [() => [], /header does not start with "\{"/],
      [
        (h) => ({ ...h, 'model.norm.weight': null }),
        /header entry model\.norm\.weight must be an object .* got null/,
      ],
      [
        (h) => ({ ...h, 'model.norm.weight': { dtype: 'F32', shape: [32], data_offsets: 'x' } }),
        /model\.norm\.weight\.data_offsets must be \[begin, end\], .* got the string "x"/,
      ],
      [
        (h) => ({ ...h, 'model.norm.weight': { dtype: 'F32', shape: [32] } }),
        /model\.norm\.weight\.data_offsets must be \[begin, end\]/,
      ],
      [
        (h) => ({ ...h, 'model.norm.weight': { dtype: 'F32', shape: '32', data_offsets: [0, 128] } }),
        /model\.norm\.weight\.shape must be an array of non-negative integers/,
      ],
      [(h) => ({ ...h, __metadata__: { format: 5 } }), /__metadata__\.format must be a string, got 5/],
    ];
    for (const [edit, re] of cases) {
      const dir = writeHfFolder();
      editSafetensorsHeader(dir, edit);
      await expectLoadError(dir, ModelFileError, re);
    }
  });

  it('negative or fractional offsets, and overlapping tensors, are refused', async () => {
    const move = (offsets: number[]) => (h: Record<string, unknown>) => {
      const t = h['model.norm.weight'] as { data_offsets: number[] };
      return { ...h, 'model.norm.weight': { ...t, data_offsets: offsets } };
    };
    const dir = writeHfFolder();
    const header = JSON.parse(
      readFileSync(join(dir, 'model.safetensors'))
        .subarray(8, 8 + Number(readFileSync(join(dir, 'model.safetensors')).readBigUInt64LE(0)))
        .toString(),
    );
    const embed = header['model.embed_tokens.weight'].data_offsets as number[];
    const cases: [number[], RegExp][] = [
      [
        [-128, 0],
        /data_offsets must be \[begin, end\], integers with 0 ≤ begin ≤ end, got an array \[-128,0\]/,
      ],
      [[0.5, 128.5], /data_offsets must be .* got an array \[0\.5,128\.5\]/],
      [[128, 0], /data_offsets must be .* got an array \[128,0\]/],
      [[embed[0]!, embed[0]! + 128], /overlaps tensor/],
    ];
    for (const [offsets, re] of cases) {
      const d = writeHfFolder();
      editSafetensorsHeader(d, move(offsets));
      await expectLoadError(d, ModelFileError, re);
    }
  });
});

/** A folder whose weights are two shards named by model.safetensors.index.json. */
function shardedFolder(weightMap?: (files: string[]) => unknown): { dir: string; files: string[] } {
  const dir = writeHfFolder(TINY, { seed: 5 });
  rmSync(join(dir, 'model.safetensors'));
  const all = [...randomWeights(TINY, 5)];
  const files = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
  const map: Record<string, string> = {};
  [all.slice(0, 9), all.slice(9)].forEach((part, i) => {
    writeSafetensors(join(dir, files[i]!), new Map(part));
    for (const [name] of part) map[name] = files[i]!;
  });
  writeFileSync(
    join(dir, 'model.safetensors.index.json'),
    JSON.stringify({ metadata: {}, weight_map: weightMap ? weightMap(files) : map }),
  );
  return { dir, files };
}

describe('model.safetensors.index.json', () => {
  it('weight_map [], an array of names, non-string values, or none at all', async () => {
    const cases: [(files: string[]) => unknown, RegExp][] = [
      [() => [], /field weight_map must be an object of tensor name → shard file name, got an array/],
      [(files) => files, /field weight_map must be an object .* got an array/],
      [
        () => ({ 'model.norm.weight': 5 }),
        /weight_map\.model\.norm\.weight must be a shard file name \(a string\), got 5/,
      ],
      [() => ({}), /field weight_map is empty/],
      [() => null, /field weight_map must be an object .* got null/],
    ];
    for (const [map, re] of cases) {
      await expectLoadError(shardedFolder(map).dir, ModelFileError, re);
    }
  });

  it('a tensor in two shards is refused', async () => {
    const { dir, files } = shardedFolder();
    writeSafetensors(join(dir, files[1]!), randomWeights(TINY, 5));
    await expectLoadError(dir, ModelFileError, /is also in .*; a tensor must be in one shard only/);
  });
});

describe('JSON files of a model folder', () => {
  it('config.json null, an array, or with a non-boolean tie_word_embeddings', async () => {
    for (const [config, type, re] of [
      [null, ModelFileError, /config\.json: the file must be a JSON object, got null/],
      [[1], ModelFileError, /config\.json: the file must be a JSON object, got an array/],
      [
        { ...hfConfig(TINY), tie_word_embeddings: 'yes' },
        ModelConfigError,
        /tie_word_embeddings must be true or false/,
      ],
      [
        { ...hfConfig(TINY), rope_scaling: 7 },
        ModelConfigError,
        /rope_scaling must be an object or null, got 7/,
      ],
      [
        { ...hfConfig(TINY), rms_norm_eps: -1 },
        ModelConfigError,
        /rms_norm_eps must be a finite number at least 0/,
      ],
      [
        { ...hfConfig(TINY), hidden_size: 1e300 },
        ModelConfigError,
        /hidden_size must be a positive integer, got 1e\+300/,
      ],
      [{ ...hfConfig(TINY), eos_token_id: 'x' }, ModelFileError, /eos_token_id must be a token id/],
    ] as const) {
      const dir = writeHfFolder();
      writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
      await expectLoadError(dir, type, re);
    }
  });

  it('num_hidden_layers 1e9 fails at once, naming the field', async () => {
    const dir = writeHfFolder();
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...hfConfig(TINY), num_hidden_layers: 1e9 }));
    await expectLoadError(
      dir,
      ModelConfigError,
      /says 1000000000 layers \(num_hidden_layers\) but the weights hold 2/,
    );
  });

  it('an invalid tokenizer.json, tokenizer_config.json or generation_config.json', async () => {
    const cases: [string, unknown, RegExp][] = [
      ['tokenizer.json', null, /tokenizer\.json: the file must be a JSON object, got null/],
      ['tokenizer.json', {}, /tokenizer\.json: model must be an object \(the tokenizer model\), got nothing/],
      ['tokenizer.json', { model: { type: 'BPE', vocab: { a: 0 } } }, /added_tokens must be an array/],
      [
        'tokenizer.json',
        { model: { vocab: { a: 1e9 } }, added_tokens: [] },
        /token id 1000000000 is far beyond the 1 tokens listed/,
      ],
      [
        'tokenizer.json',
        {
          model: { type: 'BPE', vocab: { a: 0 }, merges: [] },
          added_tokens: [],
          normalizer: null,
          pre_tokenizer: { type: 'Split', pattern: { Regex: '(' }, behavior: 'Isolated' },
          post_processor: null,
          decoder: null,
        },
        /tokenizer\.json: @huggingface\/tokenizers cannot read it: .*Invalid regular expression/,
      ],
      ['tokenizer_config.json', [], /tokenizer_config\.json: the file must be a JSON object, got an array/],
      ['tokenizer_config.json', { eos_token: 5 }, /tokenizer_config\.json: eos_token must be a token string/],
      ['generation_config.json', null, /generation_config\.json: the file must be a JSON object, got null/],
      ['generation_config.json', { eos_token_id: [1, -2] }, /eos_token_id must be a token id/],
    ];
    for (const [file, json, re] of cases) {
      const dir = writeHfFolder();
      writeFileSync(join(dir, file), JSON.stringify(json));
      await expectLoadError(dir, ModelFileError, re);
    }
  });

  it('a config.json that is a folder, and one that is not JSON', async () => {
    let dir = writeHfFolder();
    rmSync(join(dir, 'config.json'));
    mkdirSync(join(dir, 'config.json'));
    await expectLoadError(dir, ModelFileError, /config\.json is not a regular file \(a folder\)/);
    dir = writeHfFolder();
    writeFileSync(join(dir, 'config.json'), '{"model_type": ');
    await expectLoadError(dir, ModelFileError, /config\.json: not valid JSON/);
  });
});

describe('loadModel defaults', () => {
  it('loads with no options on a CPU backend', async () => {
    const model = await loadModel(writeHfFolder());
    expect(model.backend).toBeInstanceOf(CpuBackend);
    expect(model.backend.liveBytes()).toBeGreaterThan(0);
    model.dispose();
    expect(model.backend.liveBytes()).toBe(0);
  });
});

describe('shard names stay inside the model folder', () => {
  it('a shard symlinked into a blobs folder outside (the Hugging Face cache layout) loads', async () => {
    const root = tmp();
    const blobs = join(root, 'blobs');
    mkdirSync(blobs);
    const { dir, files } = shardedFolder();
    const snapshot = join(root, 'snapshots', 'abc');
    mkdirSync(join(root, 'snapshots'));
    symlinkSync(dir, snapshot);
    for (const f of files) {
      writeFileSync(join(blobs, `${f}.blob`), readFileSync(join(dir, f)));
      rmSync(join(dir, f));
      symlinkSync(join(blobs, `${f}.blob`), join(dir, f));
    }
    const model = await loadModel(snapshot);
    expect(model.config.numLayers).toBe(TINY.layers);
    model.dispose();
  });

  it('SafetensorsSource.fromFolder refuses names with NUL or a drive letter', () => {
    for (const bad of [
      'a\0.safetensors',
      'C:\\x.safetensors',
      'c:x.safetensors',
      '\\\\server\\x.safetensors',
    ]) {
      const { dir } = shardedFolder((files) => ({ 'model.norm.weight': bad, 'x.weight': files[0] }));
      expect(() => SafetensorsSource.fromFolder(dir)).toThrow(/which is outside the model folder/);
    }
  });
});
