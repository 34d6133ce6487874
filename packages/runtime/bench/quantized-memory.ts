/**
 * Memory check for quantized GGUF weights: writes a full-depth Llama-3.2-1B-shape file (16 layers,
 * hidden 2048, 32/8 heads of 64, FFN 8192, vocabulary 128256, tied embeddings, Llama 3 RoPE scaling
 * in rope_freqs) laid out as llama.cpp's Q4_K_M recipe does (token_embd Q6_K as it is also the
 * output, Q6_K attn_v/ffn_down in the layers use_more_bits picks, Q4_K elsewhere) with random
 * valid blocks, then loads it on the CPU backend and on WebGPU and prints the file's tensor bytes
 * against the bytes the weights take on each backend (they must agree within 5%), the load time,
 * and a short prompt (a few token ids, no tokenizer needed) with its logits compared across the
 * two backends. The file is streamed to a temp folder tensor by tensor and removed at the end.
 *
 *   pnpm --filter @kvsieve/runtime memory [--backend both|cpu|webgpu] [--prompt 1,9906,1917,374] [--decode 2]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Backend, CpuBackend, QUANT_LAYOUTS, randomQuantized, seededRandom } from '@kvsieve/core';
import { argmax, GgufFile, loadModel } from '../src/index.js';
import { type GgufTensor, writeGguf } from '../test/fixtures/gguf-writer.js';
import { QUANT_OF, q4kmType } from '../test/fixtures/quant-model.js';
import { ggufMetadata } from '../test/fixtures/tiny-gguf.js';
import type { TinyShape } from '../test/fixtures/tiny-model.js';

const { values: o } = parseArgs({
  options: {
    backend: { type: 'string', default: 'both' },
    prompt: { type: 'string', default: '1,9906,1917,374,264' },
    decode: { type: 'string', default: '2' },
  },
});
const prompt = o.prompt!.split(',').map(Number);
const decode = Number(o.decode);

const SHAPE: TinyShape = {
  architecture: 'llama',
  layers: 16,
  hidden: 2048,
  heads: 32,
  kvHeads: 8,
  ffn: 8192,
  vocab: 128256,
  maxPositions: 131072,
  tied: true,
};
const HEAD_DIM = SHAPE.hidden / SHAPE.heads;
const progress = (line: string) => process.stderr.write(`${line}\n`);
const seconds = (t0: number) => (performance.now() - t0) / 1000;
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** Llama 3's RoPE scaling factors as llama.cpp's converter stores them (rope_freqs.weight). */
function llama3RopeFactors(): Float32Array {
  const [factor, low, high, oldContext] = [32, 1, 4, 8192];
  return Float32Array.from({ length: HEAD_DIM / 2 }, (_, i) => {
    const freq = 1 / 500000 ** ((2 * i) / HEAD_DIM);
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < oldContext / high) return 1;
    if (wavelen > oldContext / low) return factor;
    const smooth = (oldContext / wavelen - low) / (high - low);
    return 1 / ((1 - smooth) / factor + smooth);
  });
}

/** The file's tensors in llama.cpp's order; quantized ones are made when the writer reaches them. */
function tensors(): GgufTensor[] {
  const typeOf = q4kmType(SHAPE.layers, true);
  const { hidden: D, ffn: F, heads: H, kvHeads: Hkv } = SHAPE;
  const rand = seededRandom(1);
  const matrix = (name: string, shape: number[], scale: number): GgufTensor => {
    const type = typeOf(name);
    return { name, shape, type, data: () => randomQuantized(QUANT_OF[type]!, shape, rand, scale) };
  };
  const norm = (name: string): GgufTensor => ({
    name,
    shape: [D],
    type: 'F32',
    data: new Float32Array(D).fill(1),
  });
  const out: GgufTensor[] = [
    { name: 'rope_freqs.weight', shape: [HEAD_DIM / 2], type: 'F32', data: llama3RopeFactors() },
    matrix('token_embd.weight', [SHAPE.vocab, D], 0.5),
    norm('output_norm.weight'),
  ];
  for (let l = 0; l < SHAPE.layers; l++) {
    const p = `blk.${l}.`;
    out.push(
      norm(`${p}attn_norm.weight`),
      matrix(`${p}attn_q.weight`, [H * HEAD_DIM, D], 0.05),
      matrix(`${p}attn_k.weight`, [Hkv * HEAD_DIM, D], 0.05),
      matrix(`${p}attn_v.weight`, [Hkv * HEAD_DIM, D], 0.05),
      matrix(`${p}attn_output.weight`, [D, H * HEAD_DIM], 0.05),
      norm(`${p}ffn_norm.weight`),
      matrix(`${p}ffn_gate.weight`, [F, D], 0.05),
      matrix(`${p}ffn_up.weight`, [F, D], 0.05),
      matrix(`${p}ffn_down.weight`, [D, F], 0.05),
    );
  }
  return out;
}

async function webgpu(): Promise<Backend & { destroy(): void; adapterName?: string }> {
  const specifier = '@kvsieve/kernels-webgpu';
  const mod = (await import(specifier)) as {
    createWebGpuBackend(): Promise<Backend & { destroy(): void; adapterName?: string }>;
  };
  return mod.createWebGpuBackend();
}

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
  writeGguf(path, ggufMetadata(SHAPE, { 'llama.rope.freq_base': { type: 'f32', value: 500000 } }), tensors());
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
  if (o.backend === 'both' || o.backend === 'cpu') rows.push(await measure('cpu', new CpuBackend(), path));
  if (o.backend === 'both' || o.backend === 'webgpu') {
    const gpu = await webgpu();
    try {
      rows.push(await measure(`webgpu (${gpu.adapterName ?? 'adapter'})`, gpu, path));
    } finally {
      gpu.destroy();
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
  if (rows.length === 2) {
    let d = 0;
    let scale = 0;
    rows[0]!.logits.forEach((l, s) => {
      const w = rows[1]!.logits[s]!;
      for (let i = 0; i < l.length; i++) {
        d = Math.max(d, Math.abs(l[i]! - w[i]!));
        scale = Math.max(scale, Math.abs(l[i]!));
      }
    });
    console.log(
      `\nlogits, CPU vs WebGPU over ${rows[0]!.logits.length} positions: max |Δ| ${d.toExponential(2)} (|logit| up to ${scale.toFixed(2)})`,
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
