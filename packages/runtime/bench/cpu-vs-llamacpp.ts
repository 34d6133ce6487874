/**
 * kvsieve's wasm backend against llama.cpp on the same GGUF file and machine, in one run (issue 16):
 * SmolLM2-135M's shape (30 layers, hidden 576, 9/3 heads of 64, FFN 1536, its real 49,152-token
 * vocabulary), seeded random weights written as GGUF in each weight type (arch-gguf.ts), the same
 * random prompt ids to both engines; prefill tok/s per prompt length and decode tok/s over the
 * decode tokens, kvsieve at each --threads value and llama.cpp (node-llama-cpp, --llama-threads,
 * one child process per measurement) with the ratios. Both use an f16 KV cache (llama.cpp's default).
 *
 *   pnpm --filter @kvsieve/runtime cpu-vs-llamacpp [--types F16,Q8_0,Q4_K_M] [--prompts 512]
 *       [--long] (adds 2048 and 8192) [--decode 64] [--threads 1,2] [--llama-threads 2]
 *       [--snapkv] [--context 16384] [--budget 2048]   16K context: SnapKV vs the full cache
 *       [--flat 10000] [--decode-budget 1024]             memory over a long decode
 *       [--out FILE]                                      also write the tables to FILE
 *
 * Defaults run in a few minutes; the issue's numbers want `--long --snapkv --flat 10000` on an idle
 * machine (check /proc/loadavg: llama.cpp's 2-thread numbers collapse beside a busy process).
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { observationScorer, scoreAllocateSelect, seededRandom } from '@kvsieve/core';
import { type GenerationSummary, generate, loadModel, type Model } from '../src/index.js';
import { ARCH_SPECS, writeArchGguf } from '../test/fixtures/arch-gguf.js';
import type { GgufTensorType } from '../test/fixtures/gguf-writer.js';
import { q4kmType } from '../test/fixtures/quant-model.js';
import { type BenchBackend, wasmBackend } from './backends.js';
import { runLlamaCpp } from './llama-cpp-child.js';

const { values: o } = parseArgs({
  options: {
    types: { type: 'string', default: 'F16,Q8_0,Q4_K_M' },
    prompts: { type: 'string', default: '512' },
    long: { type: 'boolean', default: false },
    decode: { type: 'string', default: '64' },
    threads: { type: 'string', default: '1,2' },
    'llama-threads': { type: 'string', default: '2' },
    snapkv: { type: 'boolean', default: false },
    context: { type: 'string', default: '16384' },
    budget: { type: 'string', default: '2048' },
    window: { type: 'string', default: '32' },
    flat: { type: 'string', default: '0' },
    'decode-budget': { type: 'string', default: '1024' },
    out: { type: 'string' },
  },
});
const ints = (v: string, name: string) =>
  v.split(',').map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`--${name}: ${JSON.stringify(s)} is not a whole number`);
    return n;
  });
const prompts = [...new Set([...ints(o.prompts!, 'prompts'), ...(o.long ? [2048, 8192] : [])])];
const [decode] = ints(o.decode!, 'decode') as [number];
const threadsList = ints(o.threads!, 'threads');
const [llamaThreads] = ints(o['llama-threads']!, 'llama-threads') as [number];
const [context] = ints(o.context!, 'context') as [number];
const [budget] = ints(o.budget!, 'budget') as [number];
const [window] = ints(o.window!, 'window') as [number];
const [flatSteps] = ints(o.flat!, 'flat') as [number];
const [decodeBudget] = ints(o['decode-budget']!, 'decode-budget') as [number];
const types = o.types!.split(',');

const SPEC = ARCH_SPECS.find((a) => a.name === 'SmolLM2-135M')!;
const LAYERS = 30;
const progress = (line: string) => process.stderr.write(`${line}\n`);
const mib = (n: number) => (n / 2 ** 20).toFixed(1);

/** Which GGUF type each tensor is written in: one type throughout, or llama.cpp's Q4_K_M recipe. */
function typeOf(name: string): (tensor: string) => GgufTensorType {
  if (name === 'Q4_K_M') return q4kmType(LAYERS, true);
  return () => name as GgufTensorType;
}

interface Speed {
  prefill: number;
  decode: number;
  error?: string;
}

function randomIds(n: number, vocab: number, seed: number): number[] {
  const r = seededRandom(seed);
  // Skip the first ids (special tokens in SmolLM2's vocabulary): a prompt of ordinary tokens.
  return Array.from({ length: n }, () => 256 + Math.floor(r() * (vocab - 256)));
}

async function kvsieve(model: Model, ids: number[], steps: number): Promise<GenerationSummary> {
  const it = generate(model, ids, { maxTokens: steps, stopTokens: [], kvDtype: 'f16' });
  let r = await it.next();
  while (!r.done) r = await it.next();
  return r.value;
}

async function llamaCpp(path: string, ids: number[], dir: string): Promise<Speed> {
  try {
    const r = await runLlamaCpp(path, ids, decode, llamaThreads, dir);
    return { prefill: ids.length / r.prefillSeconds, decode: r.decodeTokens / r.decodeSeconds };
  } catch (e) {
    return { prefill: Number.NaN, decode: Number.NaN, error: (e as Error).message };
  }
}

/** Run `f` on a fresh wasm backend of `threads` threads; errors (e.g. no worker pool) become a row. */
async function onWasm<T>(threads: number, f: (b: BenchBackend) => Promise<T>): Promise<T | Error> {
  let backend: BenchBackend | undefined;
  try {
    backend = await wasmBackend(threads);
    return await f(backend);
  } catch (e) {
    return e as Error;
  } finally {
    backend?.destroy?.();
  }
}

const fmt = (x: number) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x.toFixed(1)) : '—');
const ratio = (a: number, b: number) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : '—');

const dir = mkdtempSync(join(tmpdir(), 'kvsieve-cpu-vs-llamacpp-'));
const lines: string[] = [];
const say = (l = '') => {
  lines.push(l);
  console.log(l);
};
try {
  say(
    `SmolLM2-135M shape (${LAYERS} layers, hidden 576, 9/3 heads × 64, FFN 1536, vocab 49152, tied), seeded random weights; f16 KV cache in both engines`,
  );
  say(
    `load average at start: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} (benchmark on an idle machine)\n`,
  );
  say(
    '| weights | prompt | engine | threads | prefill tok/s | decode tok/s | prefill vs llama.cpp | decode vs llama.cpp |',
  );
  say('| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |');
  const maxPrompt = Math.max(...prompts, o.snapkv ? context : 0, flatSteps > 0 ? 512 + flatSteps : 0);
  for (const type of types) {
    const path = join(dir, `smollm2-135m-${type}.gguf`);
    progress(`${type}: writing the file`);
    const file = writeArchGguf(
      path,
      SPEC,
      LAYERS,
      typeOf(type),
      1,
      { embed: 0.05, layer: 0.05 },
      maxPrompt + decode + 64,
    );
    progress(`${type}: ${mib(statSync(path).size)} MiB`);
    for (const n of prompts) {
      const ids = randomIds(n, file.vocabSize, n);
      progress(`${type}, ${n} tokens: llama.cpp (${llamaThreads} threads)`);
      const base = await llamaCpp(path, ids, dir);
      const row = (engine: string, threads: number | string, s: Speed) =>
        say(
          `| ${type} | ${n} | ${engine}${s.error ? ` (failed: ${s.error})` : ''} | ${threads} | ${fmt(s.prefill)} | ${fmt(s.decode)} | ${s === base ? '' : ratio(s.prefill, base.prefill)} | ${s === base ? '' : ratio(s.decode, base.decode)} |`,
        );
      row('llama.cpp (node-llama-cpp)', llamaThreads, base);
      for (const t of threadsList) {
        progress(`${type}, ${n} tokens: kvsieve wasm, ${t} threads`);
        const r = await onWasm(t, async (backend) => {
          const model = await loadModel(path, { backend });
          try {
            return { sum: await kvsieve(model, ids, decode), computing: backend.threads ?? 1 };
          } finally {
            model.dispose();
          }
        });
        if (r instanceof Error)
          row('kvsieve wasm', t, { prefill: Number.NaN, decode: Number.NaN, error: r.message });
        else {
          const label = r.computing === t ? `${t}` : `${t} (${r.computing} computing)`;
          row('kvsieve wasm', label, {
            prefill: r.sum.prefill.tokensPerSecond,
            decode: r.sum.decode.tokensPerSecond,
          });
        }
      }
    }
    if (type === types[0] && o.snapkv) await snapkvVsFull(path, file.vocabSize);
    if (type === types[0] && flatSteps > 0) await flatMemory(path, file.vocabSize);
  }
  if (o.out) writeFileSync(o.out, `${lines.join('\n')}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(process.exitCode ?? 0);

/**
 * At `context` tokens the f16 cache outweighs the weights, so decode is bound by reading it: the
 * SnapKV-style selection (observation window scores, avg-pooled, top `budget` per KV head) should
 * decode faster in proportion to the bytes each token reads (weights + kept cache).
 */
async function snapkvVsFull(path: string, vocab: number): Promise<void> {
  const threads = Math.max(...threadsList);
  const ids = randomIds(context, vocab, 7);
  const method = scoreAllocateSelect({
    name: 'snapkv-style',
    budget,
    window,
    scorer: observationScorer({ pooling: 'avgpool', kernel: 7 }),
  });
  const runs: [string, GenerationSummary, number][] = [];
  for (const [name, m] of [
    ['full cache', undefined],
    [`SnapKV-style, budget ${budget}, window ${window}`, method],
  ] as const) {
    progress(`${context}-token context: ${name} (wasm, ${threads} threads)`);
    const r = await onWasm(threads, async (backend) => {
      const model = await loadModel(path, { backend });
      try {
        const it = generate(model, ids, {
          maxTokens: decode,
          stopTokens: [],
          kvDtype: 'f16',
          ...(m ? { method: m } : {}),
        });
        let s = await it.next();
        while (!s.done) s = await it.next();
        return [s.value, model.weightBytes()] as const;
      } finally {
        model.dispose();
      }
    });
    if (r instanceof Error) {
      say(`\n${name}: failed (${r.message})`);
      return;
    }
    runs.push([name, r[0], r[1]]);
  }
  const [full, snap] = [runs[0]!, runs[1]!];
  const read = (r: (typeof runs)[number]) => r[2] + r[1].cache.keptBytes;
  say(
    `\n${context}-token context, ${decode} decode tokens, kvsieve wasm (${threads} thread${threads === 1 ? '' : 's'}), f16 cache:\n`,
  );
  say('| run | cache bytes (MiB) | of full | bytes read per token (MiB) | decode tok/s | decode vs full |');
  say('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of runs) {
    say(
      `| ${r[0]} | ${mib(r[1].cache.keptBytes)} | ${((100 * r[1].cache.keptBytes) / full[1].cache.keptBytes).toFixed(1)}% | ${mib(read(r))} | ${fmt(r[1].decode.tokensPerSecond)} | ${ratio(r[1].decode.tokensPerSecond, full[1].decode.tokensPerSecond)} |`,
    );
  }
  say(
    `\nbandwidth arithmetic: (weights + full cache) / (weights + kept cache) = ${ratio(read(full), read(snap))} fewer bytes per token; measured decode speed-up ${ratio(snap[1].decode.tokensPerSecond, full[1].decode.tokensPerSecond)}`,
  );
}

/** Memory over a long decode with a decode budget: a steady state allocates nothing per token. */
async function flatMemory(path: string, vocab: number): Promise<void> {
  const threads = Math.max(...threadsList);
  const ids = randomIds(512, vocab, 11);
  const samples: string[] = [];
  progress(
    `memory over ${flatSteps} decode tokens, decode budget ${decodeBudget} (wasm, ${threads} threads)`,
  );
  const r = await onWasm(threads, async (backend) => {
    const model = await loadModel(path, { backend });
    const mem = backend as BenchBackend & { memoryBytes?(): number };
    try {
      const every = Math.max(1, Math.floor(flatSteps / 10));
      const it = generate(model, ids, { maxTokens: flatSteps, stopTokens: [], kvDtype: 'f16', decodeBudget });
      let s = await it.next();
      while (!s.done) {
        if ((s.value.step + 1) % every === 0) {
          samples.push(
            `| ${s.value.step + 1} | ${mib(backend.liveBytes())} | ${mem.memoryBytes ? mib(mem.memoryBytes()) : '—'} | ${mib(process.memoryUsage().rss)} |`,
          );
          progress(`  ${s.value.step + 1}/${flatSteps}`);
        }
        s = await it.next();
      }
      return s.value;
    } finally {
      model.dispose();
    }
  });
  if (r instanceof Error) {
    say(`\nflat memory: failed (${r.message})`);
    return;
  }
  say(
    `\nmemory over ${flatSteps} decode tokens after a 512-token prompt, decode budget ${decodeBudget} per KV head (wasm, ${threads} thread${threads === 1 ? '' : 's'}), decode ${fmt(r.decode.tokensPerSecond)} tok/s:\n`,
  );
  say('| tokens decoded | live tensor MiB | wasm memory MiB | process RSS MiB |');
  say('| ---: | ---: | ---: | ---: |');
  for (const l of samples) say(l);
}
