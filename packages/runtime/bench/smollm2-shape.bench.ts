/**
 * SmolLM2-135M-shape benchmark: seeded random weights written as real safetensors beside the real
 * config.json and tokenizer.json (../shared/models/smollm2-135m-config), loaded like any model
 * folder; tokenizer round-trip; then a long prompt generated with the full cache (the baseline,
 * measured in the same run) and with a SnapKV-style budget built from core's parts.
 *
 *   pnpm --filter @kvsieve/runtime bench [--backend auto|wasm|webgpu|cpu] [--threads N]
 *                                        [--prompt-tokens 2048] [--decode 16] [--budget 256] [--window 32]
 *
 * `auto` (the default) runs on WebGPU when the adapter is a hardware GPU and on the wasm backend
 * otherwise (a software adapter such as lavapipe is slower than wasm, and no adapter at all is
 * common), and says which and why (bench/backends.ts). Progress goes to stderr as it runs.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { observationScorer, scoreAllocateSelect } from '@kvsieve/core';
import { type GenerationSummary, generate, loadModel, writeRandomModel } from '../src/index.js';
import { makeBenchBackend } from './backends.js';

const { values: o } = parseArgs({
  options: {
    backend: { type: 'string', default: 'auto' },
    threads: { type: 'string' },
    'prompt-tokens': { type: 'string', default: '2048' },
    decode: { type: 'string', default: '16' },
    budget: { type: 'string', default: '256' },
    window: { type: 'string', default: '32' },
    shared: { type: 'string', default: resolve(import.meta.dirname ?? '.', '../../../../shared') },
  },
});
const promptTokens = Number(o['prompt-tokens']);
const decode = Number(o.decode);
const budget = Number(o.budget);
const window = Number(o.window);
const cfgDir = join(o.shared!, 'models/smollm2-135m-config');

function seconds(t0: number): number {
  return (performance.now() - t0) / 1000;
}

const progress = (line: string) => process.stderr.write(`${line}\n`);

const dir = mkdtempSync(join(tmpdir(), 'kvsieve-smollm2-shape-'));
try {
  let t0 = performance.now();
  const config = JSON.parse(readFileSync(join(cfgDir, 'config.json'), 'utf8'));
  writeRandomModel(dir, {
    config,
    tokenizer: join(cfgDir, 'tokenizer.json'),
    seed: 1,
    dtype: 'F32',
    scale: 0.05,
  });
  const writeS = seconds(t0);
  const { backend, label } = await makeBenchBackend(
    o.backend!,
    o.threads === undefined ? undefined : Number(o.threads),
  );
  progress(`backend: ${label}; weights written in ${writeS.toFixed(1)} s, loading`);
  t0 = performance.now();
  const model = await loadModel(dir, { backend });
  const loadS = seconds(t0);

  // Real English text for the prompt: the shared essays, else a generated stand-in.
  const essays = join(o.shared!, 'data/paul-graham-essays');
  let text: string;
  try {
    text = readdirSync(essays)
      .sort()
      .slice(0, 8)
      .map((f) => readFileSync(join(essays, f), 'utf8'))
      .join('\n\n');
  } catch {
    text = Array.from({ length: 4000 }, (_, i) => `word${i % 97} and the number ${i}.`).join(' ');
  }
  const ids = model.tokenizer.encode(text);
  const roundTrip = model.tokenizer.decode(ids) === text;
  if (ids.length < promptTokens)
    throw new Error(`only ${ids.length} tokens of text for a ${promptTokens}-token prompt`);
  const prompt = ids.slice(0, promptTokens);

  const runs: [string, GenerationSummary][] = [];
  const method = scoreAllocateSelect({
    name: 'snapkv-style',
    budget,
    window,
    scorer: observationScorer({ pooling: 'avgpool', kernel: 7 }),
  });
  for (const [name, m] of [
    ['full cache (baseline)', undefined],
    [`snapkv-style, budget ${budget}, window ${window}`, method],
  ] as const) {
    const started = performance.now();
    progress(`${name}: prefill of ${prompt.length} tokens`);
    const it = generate(model, prompt, {
      maxTokens: decode,
      stopTokens: [],
      ...(m ? { method: m } : {}),
      onPrefillLayer: (layer, n) => {
        if ((layer + 1) % 5 === 0 || layer + 1 === n)
          progress(`  layer ${layer + 1}/${n}, ${seconds(started).toFixed(0)} s`);
      },
    });
    let r = await it.next();
    while (!r.done) {
      progress(`  decode token ${r.value.step + 1}/${decode}, ${r.value.stats.seconds.toFixed(2)} s`);
      r = await it.next();
    }
    runs.push([name, r.value]);
  }

  const mib = (b: number) => (b / 2 ** 20).toFixed(2);
  const base = runs[0]![1];
  console.log(
    `\nSmolLM2-135M shape (30 layers, hidden 576, 9 heads / 3 KV heads, vocab 49152), random seeded F32 weights`,
  );
  console.log(`backend: ${label}`);
  console.log(
    `write weights ${writeS.toFixed(1)} s, load ${loadS.toFixed(1)} s; tokenizer round-trip on ${text.length} chars / ${ids.length} tokens: ${roundTrip ? 'ok' : 'FAILED'}`,
  );
  console.log(`prompt ${prompt.length} tokens, ${decode} decode tokens\n`);
  console.log(
    '| run | prefill s | prefill tok/s | decode tok/s | cache kept MiB | cache full MiB | kept / full | decode vs baseline |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [name, s] of runs) {
    console.log(
      `| ${name} | ${s.prefill.seconds.toFixed(1)} | ${s.prefill.tokensPerSecond.toFixed(1)} | ${s.decode.tokensPerSecond.toFixed(2)} | ${mib(s.cache.keptBytes)} | ${mib(s.cache.fullBytes)} | ${((100 * s.cache.keptBytes) / s.cache.fullBytes).toFixed(1)}% | ${(s.decode.tokensPerSecond / base.decode.tokensPerSecond).toFixed(2)}× |`,
    );
  }
  model.dispose();
  backend.destroy?.();
  if (!roundTrip) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(process.exitCode ?? 0);
