import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeHalf } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import { GgufFile, ModelConfigError, ModelFileError } from '../src/index.js';
import { expectLoadError, tinyGguf, tmp, u32, u64 } from './fixtures/bad-files.js';
import { walkGguf } from './fixtures/gguf-walk.js';
import { type GgufMeta, writeGguf } from './fixtures/gguf-writer.js';
import { writeTinyGguf } from './fixtures/tiny-gguf.js';
import { randomWeights, TINY, writeHfFolder, writeSafetensors } from './fixtures/tiny-model.js';

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
