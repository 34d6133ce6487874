import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeHalf, randomQuantized, seededRandom } from '@kvsieve/core';
import fc from 'fast-check';
import { GgufFile, SafetensorsSource } from '../../src/index.js';
import { GGML_TYPES } from '../../src/io/ggml-types.js';
import { byteLevelTokenizerJson } from '../../src/io/random-model.js';
import { encodeSafetensorsHeader } from '../../src/io/safetensors.js';
import { decodeGgufTensor, walkGguf } from '../fixtures/gguf-walk.js';
import { writeGguf } from '../fixtures/gguf-writer.js';
import { ggufMetadata, ggufTensors } from '../fixtures/tiny-gguf.js';
import { hfConfig, randomWeights, type Tensors } from '../fixtures/tiny-model.js';
import {
  classify,
  FUZZ_SHAPE,
  type FuzzFormat,
  fuzzTmp,
  guarded,
  loadAndCompare,
  type Outcome,
  other,
  refusal,
} from './harness.js';
import {
  applyByteOps,
  applyJsonOps,
  type ByteOp,
  byteOps,
  type JsonOp,
  jsonOp,
  type Targets,
} from './mutate.js';
import { checkGgufLayout, checkSafetensorsLayout, decodeSafetensors, sameBits } from './verify.js';

export interface GgufCase {
  readonly ops: ByteOp[];
  readonly target: 'file' | 'model';
}

/**
 * A small GGUF mixing F32, F16, Q8_0 and Q4_0 (random blocks), plus an unused Q8_1 tensor the
 * reader must place but not decode.
 */
function ggufFixture(path: string): void {
  let i = 0;
  const types = ['Q8_0', 'F16', 'F32', 'Q4_0'] as const;
  const rand = seededRandom(1);
  const tensors = ggufTensors(FUZZ_SHAPE, randomWeights(FUZZ_SHAPE, 1), () => types[i++ % 4]!).map((t) =>
    t.type === 'Q4_0' ? { ...t, data: randomQuantized('q4_0', t.shape, rand) } : t,
  );
  tensors.push({ name: 'extra.q8_1', shape: [2, 64], data: new Float32Array(128), type: 'Q8_1' });
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
      if (!(t.type in GGML_TYPES)) {
        // A type the reader places but does not decode (the Q8_1 extra): refused, by name.
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
export function writeMixedSafetensors(path: string, weights: Tensors, extra = true): void {
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
  const json = JSON.parse(new TextDecoder().decode(header.subarray(8)));
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
export function hfFolder(dir: string, writeWeights: (dir: string) => void): void {
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
export function folderTensors(
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

export function readSafetensorsFile(path: string, buf: Buffer): Outcome {
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
