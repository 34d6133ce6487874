/**
 * GPU benchmark kit (issue 17): on any machine with a WebGPU adapter, a copy kernel's bandwidth,
 * then prefill and greedy decode of full-depth model shapes with seeded random GGUF weights, with
 * the full cache and with SnapKV at a 1/8 budget, as a markdown table: tok/s, bytes read per decode
 * token (resident weights + KV cache held), achieved bandwidth as GB/s and as % of the copy kernel's,
 * the compressed-vs-full decode ratio, and llama.cpp's Vulkan build on the same file where it is
 * installed. Progress goes to stderr, results to stdout.
 *
 *   pnpm bench:gpu [--shapes SmolLM2-135M,Qwen2.5-0.5B,Llama-3.2-1B] [--types F16,Q4_K]
 *                  [--contexts 2048,8192,32768] [--decode 32] [--budget 0.125] [--out FILE]
 *                  [--quick] [--copy-mib 1024] [--chunk 256] [--no-llama-cpp] [--subgroups]
 *
 * `--quick`: SmolLM2-135M, F16, 256 tokens, 8 decode tokens (other options still apply).
 * `--out FILE` also writes FILE (the markdown) and FILE.json, rewritten after every row.
 * Offline on a GPU machine without Node: scripts/gpu-kit/pack.sh here, scripts/gpu-kit/run.sh there.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createWebGpuBackend, measureCopyBandwidth } from '@kvsieve/kernels-webgpu';
import { LlamaCppBaseline } from './gpu/llama-cpp.js';
import { type BenchRow, ratioLabel, runGpuBench } from './gpu/run.js';
import { SHAPE_NAMES, shapeByName } from './gpu/shapes.js';
import { derive, markdownTable } from './gpu/table.js';

const { values: o } = parseArgs({
  options: {
    shapes: { type: 'string' },
    types: { type: 'string' },
    contexts: { type: 'string' },
    decode: { type: 'string' },
    budget: { type: 'string', default: '0.125' },
    out: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'copy-mib': { type: 'string' },
    chunk: { type: 'string' },
    seed: { type: 'string', default: '1' },
    'no-llama-cpp': { type: 'boolean', default: false },
    // The backend's opt-in subgroup GEMV (not yet measured on a GPU; see kernels-webgpu's README).
    subgroups: { type: 'boolean', default: false },
  },
});
const list = (v: string | undefined, quick: string, full: string) =>
  (v ?? (o.quick ? quick : full)).split(',');
const positive = (v: string, name: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--${name}: ${JSON.stringify(v)} is not a positive integer`);
  return n;
};
const shapes = list(o.shapes, 'SmolLM2-135M', SHAPE_NAMES.join(',')).map(shapeByName);
const types = list(o.types, 'F16', 'F16,Q4_K');
const contexts = list(o.contexts, '256', '2048,8192,32768').map((c) => positive(c, 'contexts'));
const decode = positive(o.decode ?? (o.quick ? '8' : '32'), 'decode');
const budget = Number(o.budget);
if (!(budget > 0 && budget <= 1)) throw new Error(`--budget: ${o.budget} is not in (0, 1]`);
const copyBytes = positive(o['copy-mib'] ?? (o.quick ? '64' : '1024'), 'copy-mib') * 2 ** 20;

const progress = (line: string) => process.stderr.write(`${line}\n`);
const stamp = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

progress(
  `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}; acquiring the WebGPU device`,
);
const backendOptions = { subgroups: o.subgroups ?? false };
const first = await createWebGpuBackend(backendOptions).catch((e: Error) => {
  progress(`pnpm bench:gpu: no WebGPU adapter: ${e.message}`);
  process.exit(2);
});
const adapter = first.adapterName;
const limits = pick(first.device.limits);
const shaderF16 = first.features.shaderF16;
progress(`adapter: ${adapter}; copy kernel on ${copyBytes / 2 ** 20} MiB (capped by the device's limits)`);
const copy = await measureCopyBandwidth(first.device, { bytes: copyBytes });
first.destroy();
progress(`copy kernel: ${copy.gbPerSecond.toFixed(1)} GB/s (median ${copy.medianGbPerSecond.toFixed(1)})`);

const baseline = new LlamaCppBaseline(o['no-llama-cpp'] ? 'turned off with --no-llama-cpp' : undefined);
const head = [
  `# kvsieve GPU bench, ${stamp()}`,
  '',
  // run.sh names itself: the kit runs this bundled, without pnpm.
  `- command: ${process.env.KVSIEVE_BENCH_COMMAND ?? 'pnpm bench:gpu'} ${process.argv.slice(2).join(' ')}`.trimEnd(),
  `- adapter: ${adapter}; shader-f16 ${shaderF16 ? 'yes' : 'no'}; maxStorageBufferBindingSize ${limits.maxStorageBufferBindingSize}, maxBufferSize ${limits.maxBufferSize}; GEMV ${first.ctx.subgroupSize ? `by subgroups of ${first.ctx.subgroupSize}` : 'without subgroups'}`,
  `- copy kernel (WGSL, vec4<u32>, ${copy.bufferBytes / 2 ** 20} MiB buffer, ${copy.seconds.length} timed submissions of ${copy.copiesPerRepetition} cop${copy.copiesPerRepetition === 1 ? 'y' : 'ies'} each): best ${copy.gbPerSecond.toFixed(1)} GB/s, median ${copy.medianGbPerSecond.toFixed(1)} GB/s, counting bytes read + written`,
  `- weights: seeded random, written as GGUF at full depth (real widths, heads and vocabulary sizes; synthetic vocabulary); prompt: random ids; cache: full, or SnapKV at ${ratioLabel(budget)} of the prompt (defaults otherwise)`,
  `- decode: ${decode} greedy tokens timed after 1 warm-up step, argmax on the device (readout 'argmax'); KV cache ${shaderF16 ? 'f16' : 'f32 (the adapter has no shader-f16)'}`,
  `- load average at start: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
];
const dir = mkdtempSync(join(tmpdir(), 'kvsieve-gpu-bench-'));
// A stopped run (Ctrl-C, a timeout) leaves no multi-GB GGUF behind; --out already has its rows.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    rmSync(dir, { recursive: true, force: true });
    progress(`stopped by ${signal}`);
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  });
}
const rows: BenchRow[] = [];
const render = (done: boolean) => {
  const derived = derive(rows, copy.gbPerSecond);
  const note = baseline.skipped
    ? `- llama.cpp baseline: skipped: ${baseline.skipped}`
    : `- llama.cpp baseline: node-llama-cpp's Vulkan build on ${[...new Set(rows.flatMap((r) => r.llamaCpp?.devices ?? []))].join(', ') || 'its GPU'}, same GGUF, prompt ids and decode length, full cache (f16), all layers offloaded`;
  const md = [
    ...head,
    note,
    ...(done ? [] : ['- (partial: the run is still going)']),
    '',
    ...markdownTable(derived),
  ];
  const json = {
    adapter,
    limits,
    copy,
    options: { shapes: shapes.map((s) => s.name), types, contexts, decode, budget },
    llamaCpp: baseline.skipped ? { skipped: baseline.skipped } : {},
    rows: derived,
  };
  return { md: md.join('\n'), json: JSON.stringify(json, null, 2) };
};
const save = (done: boolean) => {
  if (!o.out) return;
  const { md, json } = render(done);
  writeFileSync(o.out, `${md}\n`);
  writeFileSync(`${o.out}.json`, `${json}\n`);
};
try {
  await runGpuBench({
    shapes,
    types,
    contexts,
    decode,
    budgetRatio: budget,
    dir,
    backend: () => createWebGpuBackend(backendOptions),
    baseline,
    progress,
    onRow: (r) => {
      rows.push(r);
      save(false);
    },
    seed: positive(o.seed!, 'seed'),
    ...(o.chunk ? { chunkSize: positive(o.chunk, 'chunk') } : {}),
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
save(true);
console.log(render(true).md);
// Dawn's instance keeps the event loop alive; every row failing is a failed run.
process.exit(rows.every((r) => r.error) ? 1 : 0);

function pick(l: GPUSupportedLimits) {
  return {
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxBufferSize: l.maxBufferSize,
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
  };
}
