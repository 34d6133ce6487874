import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import fc from 'fast-check';
import { SafetensorsSource } from '../../src/index.js';
import { randomWeights } from '../fixtures/tiny-model.js';
import { folderTensors, hfFolder, writeMixedSafetensors } from './formats-binary.js';
import { classify, FUZZ_SHAPE, type FuzzFormat, fuzzTmp, guarded, loadAndCompare } from './harness.js';
import {
  applyByteOps,
  applyJsonMutation,
  type ByteOp,
  byteOps,
  type JsonMutation,
  jsonMutation,
} from './mutate.js';

export type IndexCase = {
  readonly m: { kind: 'index'; m: JsonMutation } | { kind: 'shard'; shard: number; ops: ByteOp[] };
  readonly target: 'source' | 'model';
};

const SHARDS = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];

export function indexFormat(): FuzzFormat<IndexCase> {
  const root = mkdtempSync(join(fuzzTmp(), 'kvsieve-fuzz-index-'));
  const dir = join(root, 'model');
  // A complete model beside the folder, with other values: loading from it shows as a mismatch.
  writeMixedSafetensors(join(root, 'outside.safetensors'), randomWeights(FUZZ_SHAPE, 99));
  const all = [...randomWeights(FUZZ_SHAPE, 3)];
  const map: Record<string, string> = {};
  hfFolder(dir, (d) => {
    [all.slice(0, 9), all.slice(9)].forEach((part, i) => {
      writeMixedSafetensors(join(d, SHARDS[i]!), new Map(part), i === 0);
      for (const [name] of part) map[name] = SHARDS[i]!;
    });
  });
  map['extra.i32'] = SHARDS[0]!;
  const indexText = JSON.stringify({ metadata: { total_size: 1 }, weight_map: map });
  const indexPath = join(dir, 'model.safetensors.index.json');
  const shards = SHARDS.map((s) => readFileSync(join(dir, s)));
  writeFileSync(indexPath, indexText);
  // Only what the previous case changed is written back.
  let dirty: string | null = null;
  const restore = () => {
    if (dirty === indexPath) writeFileSync(indexPath, indexText);
    else if (dirty !== null) writeFileSync(dirty, shards[SHARDS.indexOf(basename(dirty))]!);
  };
  return {
    name: 'index',
    arbitrary: fc.record({
      m: fc.oneof(
        { weight: 5, arbitrary: fc.record({ kind: fc.constant('index' as const), m: jsonMutation }) },
        {
          weight: 1,
          arbitrary: fc.record({
            kind: fc.constant('shard' as const),
            shard: fc.integer({ min: 0, max: 1 }),
            ops: byteOps,
          }),
        },
      ),
      target: fc.constantFrom('source' as const, 'model' as const),
    }),
    run: (c) =>
      guarded(async () => {
        restore();
        if (c.m.kind === 'index') {
          dirty = indexPath;
          writeFileSync(indexPath, applyJsonMutation(indexText, c.m.m));
        } else {
          const clean = shards[c.m.shard]!;
          const n = Number(clean.readBigUInt64LE(0));
          const buf = applyByteOps(clean, c.m.ops, { headerBytes: 8 + n, u64At: [0], u32At: [] });
          dirty = join(dir, SHARDS[c.m.shard]!);
          writeFileSync(dirty, buf);
        }
        if (c.target === 'model') return loadAndCompare(dir, folderTensors(dir));
        let src: SafetensorsSource;
        try {
          src = SafetensorsSource.fromFolder(dir);
        } catch (e) {
          return classify(e);
        }
        src.close();
        return { kind: 'loaded' };
      }),
    dispose: () => rmSync(root, { recursive: true, force: true }),
  };
}

// ---------------------------------------------------------------------------------------- JSON files

const JSON_FILES = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'generation_config.json',
] as const;

export interface JsonCase {
  readonly file: (typeof JSON_FILES)[number];
  readonly m: JsonMutation;
}

export function jsonFormat(): FuzzFormat<JsonCase> {
  const dir = mkdtempSync(join(fuzzTmp(), 'kvsieve-fuzz-json-'));
  hfFolder(dir, (d) => writeMixedSafetensors(join(d, 'model.safetensors'), randomWeights(FUZZ_SHAPE, 4)));
  const texts = new Map(JSON_FILES.map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
  const expected = folderTensors(dir);
  let dirty: (typeof JSON_FILES)[number] | null = null;
  return {
    name: 'json',
    arbitrary: fc.record({ file: fc.constantFrom(...JSON_FILES), m: jsonMutation }),
    run: (c) =>
      guarded(async () => {
        if (dirty) writeFileSync(join(dir, dirty), texts.get(dirty)!);
        dirty = c.file;
        writeFileSync(join(dir, c.file), applyJsonMutation(texts.get(c.file)!, c.m));
        return loadAndCompare(dir, expected);
      }),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

// -------------------------------------------------------------------------------------------- runs
