import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend, encodeHalf } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import { GgufFile, loadModel, ModelConfigError, ModelFileError, SafetensorsSource } from '../src/index.js';
import { walkGguf } from './fixtures/gguf-walk.js';
import { type GgufMeta, writeGguf } from './fixtures/gguf-writer.js';
import { writeTinyGguf } from './fixtures/tiny-gguf.js';
import { hfConfig, randomWeights, TINY, writeHfFolder, writeSafetensors } from './fixtures/tiny-model.js';

type ErrorClass = typeof ModelFileError | typeof ModelConfigError;

/**
 * Load must fail with `type` and a one-line message matching `pattern`, quickly, without growing
 * memory by more than a few tens of MB, and leaving nothing allocated on the backend.
 */
async function expectLoadError(path: string, type: ErrorClass, pattern: RegExp): Promise<Error> {
  const backend = new CpuBackend();
  const before = process.memoryUsage();
  const t0 = performance.now();
  const err = await loadModel(path, { backend }).then(
    () => null,
    (e: unknown) => e,
  );
  const ms = performance.now() - t0;
  const after = process.memoryUsage();
  expect(err).toBeInstanceOf(type);
  const message = (err as Error).message;
  expect(message).toMatch(pattern);
  expect(message).not.toMatch(/[\r\n]/);
  expect(ms).toBeLessThan(1000);
  expect(after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers).toBeLessThan(64 << 20);
  expect(backend.liveBytes()).toBe(0);
  return err as Error;
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'kvsieve-bad-'));
}

function tinyGguf(overrides: GgufMeta = {}, type: 'F32' | 'F16' | 'Q8_0' = 'F32'): string {
  const path = join(tmp(), 'tiny.gguf');
  writeTinyGguf(path, TINY, randomWeights(TINY, 3), type, overrides);
  return path;
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
}

function u64(v: bigint | number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
}

/** Rewrite one safetensors header as `edit` makes it (the header is re-padded). */
function editSafetensorsHeader(dir: string, edit: (h: Record<string, unknown>) => unknown): void {
  const p = join(dir, 'model.safetensors');
  const buf = readFileSync(p);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString());
  const json = Buffer.from(JSON.stringify(edit(header)));
  writeFileSync(p, Buffer.concat([u64(json.length), json, buf.subarray(8 + n)]));
}

describe('GGUF headers are validated before anything is sized from them', () => {
  it('block_count 1e8 fails at once, naming the field and the layers the file holds', async () => {
    const path = tinyGguf({ 'llama.block_count': { type: 'u32', value: 1e8 } });
    await expectLoadError(
      path,
      ModelConfigError,
      /says 100000000 layers \(block_count\) but the weights hold 2 \(tensor blk\.99999999\.attn_norm\.weight is missing\)/,
    );
  });

  it('a u64-max tensor count, metadata count and array length fail at once', async () => {
    const path = tinyGguf();
    const clean = readFileSync(path);
    const w = walkGguf(clean);
    const cases: [number, RegExp][] = [
      [8, /tensor count is 18446744073709551615/],
      [16, /metadata count is 18446744073709551615/],
    ];
    const tokens = [...w.metadata.keys()].indexOf('tokenizer.ggml.tokens');
    expect(tokens).toBeGreaterThan(0);
    for (const [at, re] of cases) {
      const buf = Buffer.from(clean);
      u64(2n ** 64n - 1n).copy(buf, at);
      writeFileSync(path, buf);
      await expectLoadError(path, ModelFileError, re);
    }
    // The tokens array's length: the u64 just after its item type.
    const lengths = w.u64At.filter((p) => clean.readUInt32LE(p - 8) === 9 && clean.readUInt32LE(p - 4) === 8);
    const buf = Buffer.from(clean);
    u64(1e8).copy(buf, lengths[0]!);
    writeFileSync(path, buf);
    await expectLoadError(
      path,
      ModelFileError,
      /metadata tokenizer\.ggml\.tokens array length is 100000000, but \d+ bytes are left/,
    );
  });

  it('a dimension of 2^53 or 0, and a rank above 4, are refused', async () => {
    const path = tinyGguf();
    const clean = readFileSync(path);
    const t = walkGguf(clean).tensors[0]!;
    for (const [v, re] of [
      [2n ** 53n, /dimension 0 is 9007199254740992; each must be at least 1/],
      [0n, /dimension 0 is 0; each must be at least 1/],
    ] as const) {
      const buf = Buffer.from(clean);
      u64(v).copy(buf, t.dimAts[0]!);
      writeFileSync(path, buf);
      await expectLoadError(path, ModelFileError, re);
    }
    const buf = Buffer.from(clean);
    buf.writeUInt32LE(5, t.rankAt);
    writeFileSync(path, buf);
    await expectLoadError(path, ModelFileError, /has rank 5; GGUF allows at most 4/);
  });

  it('deeply nested arrays are refused with a message, not a stack overflow', async () => {
    const depth = 100_000;
    const nested = Buffer.concat([
      u32(9),
      ...Array.from({ length: depth }, () => Buffer.concat([u32(9), u64(1)])),
      u32(4),
      u64(0),
    ]);
    const path = tinyGguf({ 'general.nested': { type: 'raw', value: nested } });
    await expectLoadError(path, ModelFileError, /metadata general\.nested nests arrays more than 2 deep/);
  });

  it('general.alignment 0, a string, fractional or not a power of two is refused', async () => {
    const cases: [GgufMeta[string], RegExp][] = [
      [{ type: 'u32', value: 0 }, /general\.alignment is 0 \(u32\); it must be an integer power of two/],
      [{ type: 'string', value: '32' }, /general\.alignment is "32" \(string\)/],
      [{ type: 'f32', value: 32.5 }, /general\.alignment is 32\.5 \(f32\)/],
      [{ type: 'f32', value: 32 }, /general\.alignment is 32 \(f32\)/],
      [{ type: 'u32', value: 48 }, /general\.alignment is 48 \(u32\)/],
    ];
    for (const [value, re] of cases) {
      await expectLoadError(tinyGguf({ 'general.alignment': value }), ModelFileError, re);
    }
  });

  it('a tensor offset moved onto another tensor, or off the alignment, is refused', async () => {
    const path = tinyGguf();
    const clean = readFileSync(path);
    const [a, b] = walkGguf(clean).tensors;
    let buf = Buffer.from(clean);
    u64(a!.rel).copy(buf, b!.offsetAt);
    writeFileSync(path, buf);
    await expectLoadError(path, ModelFileError, /overlaps tensor/);
    buf = Buffer.from(clean);
    u64(b!.rel + 4).copy(buf, b!.offsetAt);
    writeFileSync(path, buf);
    await expectLoadError(
      path,
      ModelFileError,
      /starts at data offset \d+, not a multiple of the alignment 32/,
    );
  });

  it('a Q8_0 row that is not a whole number of blocks is refused', async () => {
    const path = tinyGguf({}, 'Q8_0');
    const clean = readFileSync(path);
    const t = walkGguf(clean).tensors.find((x) => x.type === 8)!;
    const buf = Buffer.from(clean);
    u64(t.dims[0]! - 16).copy(buf, t.dimAts[0]!);
    u64(t.dims[1]! + 1).copy(buf, t.dimAts[1]!);
    writeFileSync(path, buf);
    await expectLoadError(
      path,
      ModelFileError,
      /is Q8_0 with rows of 16 elements, not a multiple of its block size 32/,
    );
  });

  it('an unknown ggml type and a duplicate tensor name are refused at open', () => {
    const path = tinyGguf();
    const clean = readFileSync(path);
    const w = walkGguf(clean);
    const buf = Buffer.from(clean);
    buf.writeUInt32LE(77, w.tensors[1]!.typeAt);
    writeFileSync(path, buf);
    expect(() => new GgufFile(path)).toThrow(/has ggml type 77, which is not a ggml type this reader knows/);
    const data = new Float32Array(32);
    const twice = join(tmp(), 'twice.gguf');
    writeGguf(twice, {}, [
      { name: 'a', shape: [32], data, type: 'F32' },
      { name: 'a', shape: [32], data, type: 'F32' },
    ]);
    expect(() => new GgufFile(twice)).toThrow(/tensor a appears twice in the tensor directory/);
  });
});

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

describe('non-finite weights', () => {
  it('NaN and ±Infinity in F32, F16 and BF16 safetensors name the tensor, the element and the file', async () => {
    const cases: ['F32' | 'F16' | 'BF16', number, RegExp][] = [
      ['F32', Number.NaN, /holds NaN at element 1234/],
      ['F16', Number.POSITIVE_INFINITY, /holds \+Infinity at element 1234/],
      ['BF16', Number.NEGATIVE_INFINITY, /holds -Infinity at element 1234/],
      ['BF16', Number.NaN, /holds NaN at element 1234/],
    ];
    for (const [dtype, value, re] of cases) {
      const dir = tmp();
      const w = randomWeights(TINY, 2);
      w.get('model.layers.1.mlp.up_proj.weight')!.data[1234] = value;
      writeHfFolder(TINY, { dir, dtype });
      writeSafetensors(join(dir, 'model.safetensors'), w, dtype);
      const err = await expectLoadError(dir, ModelFileError, re);
      expect(err.message).toMatch(
        /model\.safetensors: tensor model\.layers\.1\.mlp\.up_proj\.weight holds .*; the file is corrupt/,
      );
    }
    // encodeHalf keeps NaN a NaN (not a rounding artefact): the check saw the stored bits.
    expect(encodeHalf(new Float32Array([Number.NaN]), 'f16')[0]! & 0x7c00).toBe(0x7c00);
  });

  it('NaN in a GGUF F32 tensor and an infinite Q8_0 block scale', async () => {
    const w = randomWeights(TINY, 2);
    w.get('model.layers.1.mlp.up_proj.weight')!.data[1234] = Number.NaN;
    let path = join(tmp(), 'nan.gguf');
    writeTinyGguf(path, TINY, w, 'F32');
    await expectLoadError(
      path,
      ModelFileError,
      /tensor blk\.1\.ffn_up\.weight holds NaN at element 1234; the file is corrupt/,
    );
    path = tinyGguf({}, 'Q8_0');
    const clean = readFileSync(path);
    const walked = walkGguf(clean);
    const t = walked.tensors.find((x) => x.name === 'blk.0.ffn_up.weight')!;
    const buf = Buffer.from(clean);
    buf.writeUInt16LE(0x7c00, walked.dataStart + t.rel + 3 * 34);
    writeFileSync(path, buf);
    await expectLoadError(
      path,
      ModelFileError,
      /tensor blk\.0\.ffn_up\.weight holds \+Infinity at the scale of Q8_0 block 3 \(element 96\)/,
    );
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
