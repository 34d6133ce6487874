import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Backend, type KVDType, seededRandom } from '@kvsieve/core';
import { snapkv } from '@kvsieve/methods-snapkv';
import { argmax, loadModel, type Model } from '../../src/index.js';
import { writeArchGguf } from '../../test/fixtures/arch-gguf.js';
import type { BaselineSpeed, LlamaCppBaseline } from './llama-cpp.js';
import { type BenchShape, typeOfTensor } from './shapes.js';

export type BenchBackend = Backend & { destroy(): void };

export interface GpuBenchOptions {
  readonly shapes: readonly BenchShape[];
  readonly types: readonly string[];
  /** Prompt lengths in tokens. */
  readonly contexts: readonly number[];
  /** Timed greedy decode tokens per run (after one untimed warm-up step). */
  readonly decode: number;
  /** SnapKV's budget as a fraction of the prompt (1/8). */
  readonly budgetRatio: number;
  /** Where the GGUF files are written (each is removed once its runs are done). */
  readonly dir: string;
  readonly backend: () => Promise<BenchBackend>;
  readonly baseline: LlamaCppBaseline;
  readonly progress: (line: string) => void;
  /** Called as each row is finished (for partial results from a run stopped early). */
  readonly onRow?: (row: BenchRow) => void;
  readonly seed?: number;
  readonly chunkSize?: number;
}

/** One configuration's measurements; `error` instead of numbers when it failed. */
export interface BenchRow {
  readonly shape: string;
  /** The type asked for, and the fallback types llama.cpp's rules put on rows a block does not fit. */
  readonly weights: string;
  readonly context: number;
  readonly cache: string;
  readonly kvDtype?: KVDType;
  readonly prefillTokensPerSecond?: number;
  readonly decodeTokensPerSecond?: number;
  /** Resident weight bytes on the backend (quantized blocks as stored). */
  readonly weightBytes?: number;
  /** KV cache bytes held, averaged over the timed decode steps. */
  readonly kvBytes?: number;
  /** llama.cpp on the same file, prompt and decode length (full-cache rows only). */
  readonly llamaCpp?: BaselineSpeed;
  readonly llamaCppError?: string;
  readonly error?: string;
}

const SCALES = { embed: 0.05, layer: 0.05 };

/** Ids drawn uniformly from the vocabulary: the speed of a forward pass does not depend on them. */
export function randomIds(n: number, vocab: number, seed: number): number[] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => Math.floor(r() * vocab));
}

const firstLine = (e: unknown) =>
  ((e as Error)?.message ?? String(e)).split('\n').find((l) => l.trim()) ?? String(e);

/**
 * Every shape × type × context × cache, in that order. Each shape and type is written once as
 * GGUF and loaded once onto a fresh backend; a failure (out of memory, device lost) becomes that
 * row's error, the backend and model are rebuilt for the next row, and the run goes on.
 */
export async function runGpuBench(o: GpuBenchOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const push = (row: BenchRow) => {
    rows.push(row);
    o.onRow?.(row);
  };
  const seed = o.seed ?? 1;
  const caches = ['full', `snapkv ${ratioLabel(o.budgetRatio)}`];
  let backend: BenchBackend | null = null;
  const release = (model: Model | null) => {
    try {
      model?.dispose();
    } catch {
      // A lost device may refuse to free; destroying the backend next releases everything anyway.
    }
    backend?.destroy();
    backend = null;
  };
  for (const shape of o.shapes) {
    for (const type of o.types) {
      const tag = `${shape.name} ${type}`;
      const path = join(o.dir, `${shape.name}-${type}.gguf`);
      let weights = type;
      try {
        const t0 = performance.now();
        o.progress(`${tag}: writing ${shape.layers}-layer GGUF with seeded random weights`);
        const positions = Math.max(...o.contexts) + o.decode + 64;
        const typeOf = typeOfTensor(type, shape.layers);
        const file = writeArchGguf(path, shape.spec, shape.layers, typeOf, seed, SCALES, positions);
        const recipe = type === 'Q4_K_M' ? ['Q4_K', 'Q6_K'] : [type];
        const others = [...new Set(file.types.values())].filter((t) => t !== 'F32' && !recipe.includes(t));
        if (others.length) weights = `${type} (+${others.join(', ')})`;
        o.progress(`${tag}: ${mib(file.tensorBytes)} MiB of tensors written in ${secs(t0)} s`);
      } catch (e) {
        o.progress(`${tag}: FAILED writing the file: ${firstLine(e)}`);
        for (const context of o.contexts)
          for (const cache of caches)
            push({ shape: shape.name, weights, context, cache, error: firstLine(e) });
        rmSync(path, { force: true });
        continue;
      }
      let model: Model | null = null;
      try {
        for (const context of o.contexts) {
          const ids = randomIds(context, shape.vocabSize, seed + context);
          const pair: BenchRow[] = [];
          for (const cache of caches) {
            const label = `${tag} ${context} tokens ${cache}`;
            const base = { shape: shape.name, weights, context, cache };
            try {
              if (!backend) backend = await o.backend();
              if (!model) {
                const t0 = performance.now();
                o.progress(`${tag}: loading onto the backend`);
                model = await loadModel(path, { backend });
                o.progress(`${tag}: loaded ${mib(model.weightBytes())} MiB in ${secs(t0)} s`);
                await warmUp(model, o, tag);
              }
              const ratio = cache === 'full' ? null : o.budgetRatio;
              pair.push({ ...base, ...(await measure(model, ids, ratio, o, label)) });
            } catch (e) {
              o.progress(`${label}: FAILED: ${firstLine(e)}`);
              pair.push({ ...base, error: firstLine(e) });
              release(model);
              model = null;
            }
          }
          const full = pair[0]!;
          if (!full.error && !o.baseline.skipped) {
            o.progress(`${tag} ${context} tokens: llama.cpp (Vulkan) on the same file`);
            const b = await o.baseline.measure(path, ids, o.decode, o.dir);
            if (b instanceof Error) pair[0] = { ...full, llamaCppError: firstLine(b) };
            else if (b) pair[0] = { ...full, llamaCpp: b };
            o.progress(
              o.baseline.skipped
                ? `${tag} ${context} tokens: llama.cpp skipped: ${o.baseline.skipped}`
                : `${tag} ${context} tokens: llama.cpp ${b instanceof Error ? `FAILED: ${b.message}` : `decode ${fmt(b!.decodeTokensPerSecond)} tok/s`}`,
            );
          }
          for (const r of pair) push(r);
        }
      } finally {
        release(model);
        rmSync(path, { force: true });
      }
    }
  }
  return rows;
}

/**
 * Pipelines compile on first use (seconds on some drivers), which would land in the first timed
 * prefill: a short prompt through both caches first. Longer than GEMV_MAX_ROWS (8) tokens, so
 * prefill's tiled matmuls are among them; shapes are uniforms, so one pipeline serves every length.
 */
async function warmUp(model: Model, o: GpuBenchOptions, tag: string): Promise<void> {
  const t0 = performance.now();
  const ids = randomIds(WARM_UP_TOKENS, model.config.vocabSize, 0);
  for (const ratio of [null, o.budgetRatio]) {
    const session = await model.start(ids, {
      ...(ratio === null ? {} : { method: snapkv({ budget: { ratio } }) }),
      kvDtype: kvDtypeOf(model),
    });
    session.dispose();
  }
  o.progress(`${tag}: pipelines compiled by a ${WARM_UP_TOKENS}-token warm-up in ${secs(t0)} s (untimed)`);
}

const WARM_UP_TOKENS = 16;

// f16 keys and values where the device computes in f16, as `kvsieve run` does on WebGPU.
const kvDtypeOf = (model: Model): KVDType => (model.backend.features.shaderF16 ? 'f16' : 'f32');

async function measure(
  model: Model,
  ids: readonly number[],
  ratio: number | null,
  o: GpuBenchOptions,
  label: string,
): Promise<Omit<BenchRow, 'shape' | 'weights' | 'context' | 'cache'>> {
  const kvDtype = kvDtypeOf(model);
  const started = performance.now();
  let said = started;
  const tick = (what: string) => {
    if (performance.now() - said < 5000) return;
    said = performance.now();
    o.progress(`${label}: ${what}, ${secs(started)} s`);
  };
  o.progress(`${label}: prefill`);
  const session = await model.start(ids, {
    ...(ratio === null ? {} : { method: snapkv({ budget: { ratio } }) }),
    kvDtype,
    ...(o.chunkSize ? { chunkSize: o.chunkSize } : {}),
    onLayer: (layer, n) => tick(`prefill layer ${layer + 1}/${n}`),
  });
  try {
    const prefill = ids.length / session.prefillSeconds;
    o.progress(`${label}: prefill ${fmt(prefill)} tok/s; decode 1 + ${o.decode} tokens`);
    // The first step compiles the decode-shaped pipelines: kept out of the timing.
    let token = (await session.step(argmax(session.logits), { readout: 'argmax' })).token!;
    const kvBefore = session.usedBytes();
    const t0 = performance.now();
    for (let i = 0; i < o.decode; i++) {
      token = (await session.step(token, { readout: 'argmax' })).token!;
      tick(`decode token ${i + 1}/${o.decode}`);
    }
    const decode = o.decode / ((performance.now() - t0) / 1000);
    const kvBytes = (kvBefore + session.usedBytes()) / 2;
    o.progress(`${label}: decode ${fmt(decode)} tok/s, ${mib(kvBytes)} MiB of cache held`);
    return {
      kvDtype,
      prefillTokensPerSecond: prefill,
      decodeTokensPerSecond: decode,
      weightBytes: model.weightBytes(),
      kvBytes,
    };
  } finally {
    session.dispose();
  }
}

export function ratioLabel(r: number): string {
  const inv = 1 / r;
  return Number.isInteger(inv) ? `1/${inv}` : `${(100 * r).toFixed(1)}%`;
}

export const mib = (n: number) => (n / 2 ** 20).toFixed(1);
const secs = (t0: number) => ((performance.now() - t0) / 1000).toFixed(1);
export const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
