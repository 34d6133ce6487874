import {
  accessSync,
  constants,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { CpuBackend, type DType, encodeHalf, type Shape, type Tensor, type UploadData } from '@kvsieve/core';
import fc from 'fast-check';
import { GgufFile, loadModel, ModelConfigError, ModelFileError, SafetensorsSource } from '../../src/index.js';
import { byteLevelTokenizerJson } from '../../src/io/random-model.js';
import { encodeSafetensorsHeader } from '../../src/io/safetensors.js';
import { decodeGgufTensor, walkGguf } from '../fixtures/gguf-walk.js';
import { writeGguf } from '../fixtures/gguf-writer.js';
import { ggufMetadata, ggufTensors } from '../fixtures/tiny-gguf.js';
import { hfConfig, randomWeights, type Tensors, type TinyShape } from '../fixtures/tiny-model.js';
import {
  applyByteOps,
  applyJsonMutation,
  applyJsonOps,
  type ByteOp,
  byteOps,
  type JsonMutation,
  type JsonOp,
  jsonMutation,
  jsonOp,
  type Targets,
} from './mutate.js';
import { checkGgufLayout, checkSafetensorsLayout, decodeSafetensors, sameBits } from './verify.js';

/** Small enough that a load takes milliseconds, with every tensor type and dtype the loaders read. */
export const FUZZ_SHAPE: TinyShape = {
  architecture: 'llama',
  layers: 2,
  hidden: 32,
  heads: 2,
  kvHeads: 1,
  ffn: 32,
  vocab: 260,
  maxPositions: 64,
  tied: false,
};

/** What one case did. */
export type Outcome = { kind: 'loaded' } | { kind: 'typed' } | { kind: 'other'; detail: string };

/** A file format under fuzzing: its mutation arbitrary and how a case runs. */
export interface FuzzFormat<C> {
  readonly name: string;
  readonly arbitrary: fc.Arbitrary<C>;
  run(c: C): Promise<Outcome>;
  dispose(): void;
}

/** A CPU backend that keeps every upload, so a load can be compared with the file's bytes. */
class RecordingBackend extends CpuBackend {
  readonly uploads = new Map<string, { data: UploadData; shape: number[]; dtype: DType }>();
  override upload(data: UploadData, shape: Shape, dtype: DType, name = 'upload'): Tensor {
    this.uploads.set(name, { data, shape: [...shape], dtype });
    return super.upload(data, shape, dtype, name);
  }
}

/**
 * Cases write a file each: on tmpfs (/dev/shm) that costs microseconds, on a disk-backed /tmp
 * milliseconds. KVSIEVE_FUZZ_TMP overrides.
 */
function fuzzTmp(): string {
  if (process.env.KVSIEVE_FUZZ_TMP) return process.env.KVSIEVE_FUZZ_TMP;
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

function other(detail: string): Outcome {
  return { kind: 'other', detail };
}

/** A typed error with a one-line, bounded message; anything else is an "other" outcome. */
export function classify(e: unknown): Outcome {
  if (e instanceof ModelFileError || e instanceof ModelConfigError) {
    if (/[\r\n]/.test(e.message))
      return other(`${e.name} with a multi-line message: ${JSON.stringify(e.message)}`);
    if (e.message.length > 2000) return other(`${e.name} with a ${e.message.length}-character message`);
    return { kind: 'typed' };
  }
  const err = e as Error;
  const where = (err?.stack ?? '').split('\n').slice(1, 4).join(' | ');
  return other(`${err?.constructor?.name ?? typeof e}: ${err?.message ?? String(e)} @ ${where}`);
}

/** Load through `loadModel`, then compare every uploaded weight with `expected(name)`. */
async function loadAndCompare(
  path: string,
  expected: (name: string) => { data: Float32Array | Uint16Array; shape: number[] } | string,
): Promise<Outcome> {
  const backend = new RecordingBackend();
  let model: Awaited<ReturnType<typeof loadModel>>;
  try {
    model = await loadModel(path, { backend });
  } catch (e) {
    const live = backend.liveBytes();
    return live === 0
      ? classify(e)
      : other(`failed load left ${live} bytes allocated: ${(e as Error).message}`);
  }
  try {
    for (const [name, up] of backend.uploads) {
      if (name === 'rope invFreq') continue;
      const want = expected(name);
      if (typeof want === 'string') return other(`uploaded ${name}, but ${want}`);
      if (want.shape.join() !== up.shape.join()) {
        return other(`${name} uploaded as [${up.shape}] but the file says [${want.shape}]`);
      }
      if (!sameBits(up.data, want.data)) return other(`${name} uploaded values differ from the file's bytes`);
    }
    return { kind: 'loaded' };
  } finally {
    model.dispose();
  }
}

/** null when `f` throws a typed error, else the outcome that says what it did instead. */
function refusal(f: () => unknown): Outcome | null {
  try {
    f();
  } catch (e) {
    const o = classify(e);
    return o.kind === 'typed' ? null : o;
  }
  return other('a tensor of an unsupported type was read without an error');
}

async function guarded(f: () => Promise<Outcome>): Promise<Outcome> {
  try {
    return await f();
  } catch (e) {
    return classify(e);
  }
}

// ---------------------------------------------------------------------------------------------- GGUF

export interface GgufCase {
  readonly ops: ByteOp[];
  readonly target: 'file' | 'model';
}

/** A small GGUF mixing F32, F16 and Q8_0, plus an unused Q4_0 tensor the reader must place but not decode. */
function ggufFixture(path: string): void {
  let i = 0;
  const types = ['Q8_0', 'F16', 'F32'] as const;
  const tensors = ggufTensors(FUZZ_SHAPE, randomWeights(FUZZ_SHAPE, 1), () => types[i++ % 3]!);
  tensors.push({ name: 'extra.q4', shape: [2, 64], data: new Float32Array(128), type: 'Q4_0' });
  writeGguf(path, ggufMetadata(FUZZ_SHAPE), tensors);
}

export function ggufFormat(): FuzzFormat<GgufCase> {
  const dir = mkdtempSync(join(fuzzTmp(), 'kvsieve-fuzz-gguf-'));
  const path = join(dir, 'model.gguf');
  ggufFixture(path);
  const clean = readFileSync(path);
  const w = walkGguf(clean);
  const targets: Targets = { headerBytes: w.headerEnd, u64At: w.u64At, u32At: w.u32At };
  return {
    name: 'gguf',
    arbitrary: fc.record({
      ops: byteOps,
      target: fc.constantFrom('file' as const, 'model' as const),
    }),
    run: (c) =>
      guarded(async () => {
        const buf = applyByteOps(clean, c.ops, targets);
        writeFileSync(path, buf);
        return c.target === 'file' ? readGgufFile(path, buf) : loadGgufModel(path, buf);
      }),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function readGgufFile(path: string, buf: Buffer): Outcome {
  let g: GgufFile;
  try {
    g = new GgufFile(path);
  } catch (e) {
    return classify(e);
  }
  try {
    const layout = checkGgufLayout(buf, g);
    if (typeof layout === 'string') return other(layout);
    let typed = false;
    for (const [name, t] of layout) {
      if (![0, 1, 8, 30].includes(t.type)) {
        // A type the reader places but does not decode (the Q4_0 extra): refused, by name.
        const refused = refusal(() => g.readTensor(name));
        if (refused) return refused;
        continue;
      }
      try {
        const got = g.readTensor(name);
        const want = decodeGgufTensor(buf, t.offset, t.type, t.elements);
        if (!sameBits(got.data, want)) return other(`readTensor(${name}) differs from the file's bytes`);
      } catch (e) {
        const o = classify(e);
        if (o.kind !== 'typed') return o;
        typed = true;
      }
    }
    return { kind: typed ? 'typed' : 'loaded' };
  } finally {
    g.close();
  }
}

async function loadGgufModel(path: string, buf: Buffer): Promise<Outcome> {
  let layout: ReturnType<typeof checkGgufLayout> | undefined;
  return loadAndCompare(path, (name) => {
    if (layout === undefined) {
      const g = new GgufFile(path);
      layout = checkGgufLayout(buf, g);
      g.close();
    }
    if (typeof layout === 'string') return layout;
    const t = layout.get(name);
    if (!t) return 'the file has no such tensor';
    return { data: decodeGgufTensor(buf, t.offset, t.type, t.elements), shape: t.shape };
  });
}

// -------------------------------------------------------------------------------------- safetensors

/** Tensors with F32, F16 and BF16 storage (cycled), plus an unused I32 tensor when `extra`. */
function writeMixedSafetensors(path: string, weights: Tensors, extra = true): void {
  const dtypes = ['F32', 'F16', 'BF16'] as const;
  const list = [...weights].map(([name, t], i) => ({
    name,
    shape: t.shape,
    dtype: dtypes[i % 3]!,
    data: t.data,
  }));
  const { header } = encodeSafetensorsHeader([
    ...list,
    ...(extra ? [{ name: 'extra.i32', shape: [4], dtype: 'F32' as const }] : []),
  ]);
  const json = JSON.parse(header.subarray(8).toString());
  if (extra) json['extra.i32'].dtype = 'I32';
  const text = Buffer.from(JSON.stringify(json).padEnd(header.length - 8));
  const parts = [header.subarray(0, 8), text];
  for (const t of list) {
    const arr = t.dtype === 'F32' ? t.data : encodeHalf(t.data, t.dtype === 'F16' ? 'f16' : 'bf16');
    parts.push(Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength));
  }
  if (extra) parts.push(Buffer.from(new Int32Array([1, 2, 3, 4]).buffer));
  writeFileSync(path, Buffer.concat(parts));
}

/** A Hugging Face folder for the fuzz shape, weights written by `weights`. */
function hfFolder(dir: string, writeWeights: (dir: string) => void): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(hfConfig(FUZZ_SHAPE), null, 1));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(byteLevelTokenizerJson(3)));
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({ eos_token: '<|end|>', bos_token: null, chat_template: '{{ messages }}' }),
  );
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [256, 257] }));
  writeWeights(dir);
}

/** Every tensor in the .safetensors files of `dir`, decoded from the bytes by a separate reader. */
function folderTensors(
  dir: string,
): (name: string) => { data: Float32Array | Uint16Array; shape: number[] } | string {
  const found = new Map<string, { data: Float32Array | Uint16Array; shape: number[] } | string>();
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.safetensors'))) {
    const decoded = decodeSafetensors(readFileSync(join(dir, f)));
    if (typeof decoded === 'string') continue;
    for (const [name, t] of decoded) found.set(name, found.has(name) ? `${name} is in two shards` : t);
  }
  return (name) => found.get(name) ?? `no .safetensors file in the folder holds ${name}`;
}

export type SafetensorsCase = {
  readonly m: { kind: 'bytes'; ops: ByteOp[] } | { kind: 'header'; ops: JsonOp[] };
  readonly target: 'source' | 'model';
};

export function safetensorsFormat(): FuzzFormat<SafetensorsCase> {
  const dir = mkdtempSync(join(fuzzTmp(), 'kvsieve-fuzz-st-'));
  const path = join(dir, 'model.safetensors');
  hfFolder(dir, (d) => writeMixedSafetensors(join(d, 'model.safetensors'), randomWeights(FUZZ_SHAPE, 2)));
  const clean = readFileSync(path);
  const n = Number(clean.readBigUInt64LE(0));
  const header = JSON.parse(clean.subarray(8, 8 + n).toString());
  const data = clean.subarray(8 + n);
  const targets: Targets = { headerBytes: 8 + n, u64At: [0], u32At: [] };
  return {
    name: 'safetensors',
    arbitrary: fc.record({
      m: fc.oneof(
        fc.record({
          kind: fc.constant('bytes' as const),
          ops: byteOps,
        }),
        fc.record({
          kind: fc.constant('header' as const),
          ops: fc.array(jsonOp, { minLength: 1, maxLength: 3 }),
        }),
      ),
      target: fc.constantFrom('source' as const, 'model' as const),
    }),
    run: (c) =>
      guarded(async () => {
        let buf: Buffer;
        if (c.m.kind === 'bytes') buf = applyByteOps(clean, c.m.ops, targets);
        else {
          const text = Buffer.from(JSON.stringify(applyJsonOps(header, c.m.ops)) ?? 'null');
          const len = Buffer.alloc(8);
          len.writeBigUInt64LE(BigInt(text.length));
          buf = Buffer.concat([len, text, data]);
        }
        writeFileSync(path, buf);
        return c.target === 'source'
          ? readSafetensorsFile(path, buf)
          : loadAndCompare(dir, folderTensors(dir));
      }),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function readSafetensorsFile(path: string, buf: Buffer): Outcome {
  let src: SafetensorsSource;
  try {
    src = new SafetensorsSource([path]);
  } catch (e) {
    return classify(e);
  }
  try {
    const layout = checkSafetensorsLayout(buf);
    if (typeof layout === 'string') return other(layout);
    const decoded = decodeSafetensors(buf);
    if (typeof decoded === 'string') return other(decoded);
    let typed = false;
    for (const name of layout.names) {
      if (!src.has(name)) return other(`the source lacks ${name}, which the header lists`);
      const want = decoded.get(name);
      if (!want) {
        // A dtype the reader does not serve (the I32 extra): refused, by name.
        const refused = refusal(() => src.read(name));
        if (refused) return refused;
        continue;
      }
      try {
        const got = src.read(name);
        if (!sameBits(got.data, want.data)) return other(`read(${name}) differs from the file's bytes`);
      } catch (e) {
        const o = classify(e);
        if (o.kind !== 'typed') return o;
        typed = true;
      }
    }
    return { kind: typed ? 'typed' : 'loaded' };
  } finally {
    src.close();
  }
}

// -------------------------------------------------------------------------------------------- index

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

export interface FuzzStats {
  readonly format: string;
  cases: number;
  typed: number;
  loaded: number;
  other: number;
  slowestMs: number;
  slowestCase: string;
  readonly others: { detail: string; case: string }[];
}

/** Cases over this are failures: a bad header must be refused in well under a second. */
export const CASE_LIMIT_MS = 2000;

function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}

/**
 * Run `numRuns` cases of one format, counting outcomes. A case over {@link CASE_LIMIT_MS} and file
 * descriptors left open afterwards count as "other" outcomes.
 */
export async function runFormat<C>(
  format: FuzzFormat<C>,
  numRuns: number,
  seed: number,
  onProgress?: (s: FuzzStats) => void,
): Promise<FuzzStats> {
  const s: FuzzStats = {
    format: format.name,
    cases: 0,
    typed: 0,
    loaded: 0,
    other: 0,
    slowestMs: 0,
    slowestCase: '',
    others: [],
  };
  const fds = openFds();
  const show = (c: C) => JSON.stringify(c, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
  await fc.assert(
    fc.asyncProperty(format.arbitrary, async (c) => {
      const t0 = performance.now();
      let o = await format.run(c);
      const ms = performance.now() - t0;
      if (ms > CASE_LIMIT_MS && o.kind !== 'other') o = other(`took ${ms.toFixed(0)} ms`);
      s.cases++;
      s[o.kind]++;
      if (ms > s.slowestMs) {
        s.slowestMs = ms;
        s.slowestCase = show(c);
      }
      if (o.kind === 'other' && s.others.length < 20) s.others.push({ detail: o.detail, case: show(c) });
      if (onProgress && s.cases % 1000 === 0) onProgress(s);
      return true;
    }),
    { numRuns, seed, endOnFailure: true },
  );
  const leaked = fds >= 0 ? openFds() - fds : 0;
  if (leaked > 0) {
    s.other++;
    s.others.push({ detail: `${leaked} file descriptors left open after ${s.cases} cases`, case: '' });
  }
  return s;
}
