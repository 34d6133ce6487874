/**
 * Memory check for quantized GGUF weights: writes a full-depth Llama-3.2-1B-shape file (16 layers,
 * hidden 2048, 32/8 heads of 64, FFN 8192, vocabulary 128256, tied embeddings, Llama 3 RoPE scaling
 * in rope_freqs) laid out as llama.cpp's Q4_K_M recipe does (token_embd Q6_K as it is also the
 * output, Q6_K attn_v/ffn_down in the layers use_more_bits picks, Q4_K elsewhere) with random
 * valid blocks and Llama 3's real vocabulary (arch-gguf.ts), then loads it on the CPU backend and
 * on the wasm and WebGPU backends and prints the file's tensor bytes against the bytes the weights take on each backend
 * (they must agree within 5%), the load time, and a short prompt (a few token ids) with its logits
 * compared across the backends. The file is streamed to a temp folder tensor by tensor and removed at the end.
 *
 *   pnpm --filter @kvsieve/runtime memory [--backend all|cpu|wasm|webgpu|LIST] [--prompt 1,9906,1917,374] [--decode 2]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Backend, CpuBackend, QUANT_LAYOUTS } from '@kvsieve/core';
import { argmax, GgufFile, loadModel } from '../src/index.js';
import { ARCH_SPECS, writeArchGguf } from '../test/fixtures/arch-gguf.js';
import { q4kmType } from '../test/fixtures/quant-model.js';
import { wasmBackend, webgpuBackend } from './backends.js';

const { values: o } = parseArgs({
  options: {
    // `all` (or the old `both`): every backend; else a comma-separated list.
    backend: { type: 'string', default: 'all' },
    prompt: { type: 'string', default: '1,9906,1917,374,264' },
    decode: { type: 'string', default: '2' },
  },
});
const prompt = o.prompt!.split(',').map(Number);
const decode = Number(o.decode);

const LAYERS = 16;
const SPEC = ARCH_SPECS.find((a) => a.name === 'Llama-3.2-1B')!;
const progress = (line: string) => process.stderr.write(`${line}\n`);
const seconds = (t0: number) => (performance.now() - t0) / 1000;
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

interface Row {
  backend: string;
  residentBytes: number;
  liveBytes: number;
  loadSeconds: number;
  prefillSeconds: number;
  decodeSeconds: number;
  rssAfterLoad: number;
  logits: Float32Array[];
}

async function measure(name: string, backend: Backend, path: string): Promise<Row> {
  progress(`${name}: loading`);
  let t0 = performance.now();
  const model = await loadModel(path, { backend });
  const loadSeconds = seconds(t0);
  const rssAfterLoad = process.memoryUsage().rss;
  progress(`${name}: loaded in ${loadSeconds.toFixed(1)} s; prefill of ${prompt.length} tokens`);
  t0 = performance.now();
  const session = await model.start(prompt);
  const prefillSeconds = seconds(t0);
  const logits = [Float32Array.from(session.logits)];
  t0 = performance.now();
  for (let s = 0; s < decode; s++) {
    progress(`${name}: decode step ${s + 1}/${decode}`);
    logits.push(Float32Array.from((await session.step(argmax(logits.at(-1)!))).logits!));
  }
  const decodeSeconds = seconds(t0);
  session.dispose();
  const row = {
    backend: name,
    residentBytes: model.weightBytes(),
    liveBytes: backend.liveBytes(),
    loadSeconds,
    prefillSeconds,
    decodeSeconds,
    rssAfterLoad,
    logits,
  };
  model.dispose();
  return row;
}

const dir = mkdtempSync(join(tmpdir(), 'kvsieve-quant-memory-'));
try {
  const path = join(dir, 'llama-3.2-1b-shape-Q4_K_M.gguf');
  const t0 = performance.now();
  progress('writing the Q4_K_M file (random blocks, streamed tensor by tensor)');
  writeArchGguf(path, SPEC, LAYERS, q4kmType(LAYERS, true), 1, { embed: 0.5, layer: 0.05 });
  const g = new GgufFile(path);
  const fileTensorBytes = g.tensorBytes;
  const byType = new Map<string, number>();
  for (const t of g.tensors.values()) {
    const name =
      Object.values(QUANT_LAYOUTS).find((l) => l.ggmlType === t.type)?.ggmlName ??
      (t.type === 0 ? 'F32' : `${t.type}`);
    byType.set(name, (byType.get(name) ?? 0) + t.byteLength);
  }
  g.close();
  progress(`written in ${seconds(t0).toFixed(1)} s: ${mib(statSync(path).size)}`);

  const rows: Row[] = [];
  const wanted = ['all', 'both'].includes(o.backend!) ? ['cpu', 'wasm', 'webgpu'] : o.backend!.split(',');
  for (const name of wanted) {
    if (name === 'cpu') {
      rows.push(await measure('cpu', new CpuBackend(), path));
      continue;
    }
    if (name !== 'wasm' && name !== 'webgpu')
      throw new Error(`--backend: ${name} is not cpu, wasm or webgpu (or all)`);
    const be = name === 'wasm' ? await wasmBackend() : await webgpuBackend();
    try {
      const label =
        name === 'wasm' ? `wasm (${be.threads ?? 1} threads)` : `webgpu (${be.adapterName ?? 'adapter'})`;
      rows.push(await measure(label, be, path));
    } finally {
      be.destroy?.();
    }
  }

  console.log(
    `Llama-3.2-1B shape (16 layers, hidden 2048, 32/8 heads × 64, FFN 8192, vocab 128256, tied), Q4_K_M layout, random blocks`,
  );
  console.log(
    `file tensor bytes: ${fileTensorBytes} (${mib(fileTensorBytes)}; ${[...byType]
      .map(([k, v]) => `${k} ${mib(v)}`)
      .join(', ')})`,
  );
  console.log(`prompt: ${prompt.length} token ids, then ${decode} greedy decode steps\n`);
  console.log(
    '| backend | resident weight bytes | vs file | live bytes | load s | prefill s | decode s/token | RSS after load |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  let ok = true;
  for (const r of rows) {
    const ratio = r.residentBytes / fileTensorBytes;
    ok &&= Math.abs(ratio - 1) <= 0.05;
    console.log(
      `| ${r.backend} | ${r.residentBytes} (${mib(r.residentBytes)}) | ${(100 * ratio).toFixed(3)}% | ${mib(r.liveBytes)} | ${r.loadSeconds.toFixed(1)} | ${r.prefillSeconds.toFixed(1)} | ${(r.decodeSeconds / Math.max(decode, 1)).toFixed(1)} | ${mib(r.rssAfterLoad)} |`,
    );
  }
  for (const other of rows.slice(1)) {
    let d = 0;
    let scale = 0;
    rows[0]!.logits.forEach((l, s) => {
      const w = other.logits[s]!;
      for (let i = 0; i < l.length; i++) {
        d = Math.max(d, Math.abs(l[i]! - w[i]!));
        scale = Math.max(scale, Math.abs(l[i]!));
      }
    });
    console.log(
      `\nlogits, ${rows[0]!.backend} vs ${other.backend} over ${rows[0]!.logits.length} positions: max |Δ| ${d.toExponential(2)} (|logit| up to ${scale.toFixed(2)})`,
    );
  }
  console.log(
    ok
      ? '\nresident weight bytes within 5% of the file: yes'
      : '\nresident weight bytes within 5% of the file: NO',
  );
  if (!ok) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
