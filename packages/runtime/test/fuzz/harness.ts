import { accessSync, constants, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { CpuBackend, type DType, type Shape, type Tensor, type UploadData } from '@kvsieve/core';
import fc from 'fast-check';
import { loadModel, ModelConfigError, ModelFileError } from '../../src/index.js';
import type { TinyShape } from '../fixtures/tiny-model.js';
import { sameBits } from './verify.js';

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
export function fuzzTmp(): string {
  if (process.env.KVSIEVE_FUZZ_TMP) return process.env.KVSIEVE_FUZZ_TMP;
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

export function other(detail: string): Outcome {
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
export async function loadAndCompare(
  path: string,
  expected: (name: string) => { data: Float32Array | Uint16Array | Uint8Array; shape: number[] } | string,
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
export function refusal(f: () => unknown): Outcome | null {
  try {
    f();
  } catch (e) {
    const o = classify(e);
    return o.kind === 'typed' ? null : o;
  }
  return other('a tensor of an unsupported type was read without an error');
}

export async function guarded(f: () => Promise<Outcome>): Promise<Outcome> {
  try {
    return await f();
  } catch (e) {
    return classify(e);
  }
}

// ---------------------------------------------------------------------------------------------- GGUF

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
