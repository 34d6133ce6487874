/**
 * Threads against one thread, measured in the same run: kernel throughput (GEMV over F16, Q8_0
 * and Q4_K rows, a prefill matmul, decode and prefill attention) and end-to-end prefill/decode of
 * a SmolLM2-135M-shape model (30 layers, hidden 576, 9/3 heads, F16 GGUF with seeded random
 * weights, runtime's test fixture) on 1 and N threads. Backends are created side by side and timed
 * in alternating rounds, so machine load hits both alike; medians are reported with the ratio.
 *
 *   pnpm --filter @kvsieve/kernels-wasm bench:threads [--threads 2] [--rounds 7] [--prompt 128]
 *                                                     [--decode 16] [--skip-model] [--type F16|Q8_0]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Backend, type DType, randomQuantized, type Tensor } from '@kvsieve/core';
import { generate, loadModel } from '../../runtime/src/index.js';
import { ARCH_SPECS, writeArchGguf } from '../../runtime/test/fixtures/arch-gguf.js';
import { createWasmBackend, type WasmBackend } from '../src/index.js';

const { values: o } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '7' },
    prompt: { type: 'string', default: '128' },
    decode: { type: 'string', default: '16' },
    type: { type: 'string', default: 'F16' },
    'skip-model': { type: 'boolean', default: false },
  },
});
const T = Number(o.threads);
const ROUNDS = Number(o.rounds);

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Case {
  name: string;
  /** Work of one call, in the unit printed. */
  work: number;
  unit: string;
  /** Sets up inputs on a backend; returns one call of the op (its output disposed). */
  setup(be: Backend): () => void;
}

function weights(be: Backend, dtype: DType, N: number, K: number, seed: number, nan = false): Tensor {
  const r = rng(seed);
  if (dtype === 'f16' || dtype === 'f32') {
    const v = Float32Array.from({ length: N * K }, () => r() - 0.5);
    if (nan) v[N * K - 1] = Number.NaN;
    return be.upload(v, [N, K], dtype);
  }
  return be.upload(randomQuantized(dtype as 'q8_0', [N, K], r, 0.1), [N, K], dtype);
}

/** `nan`: one NaN among the f16 weights, so the GEMV takes its exact Inf/NaN decode path. */
function gemv(dtype: DType, bytesPerWeight: number, N: number, K: number, M = 1, nan = false): Case {
  return {
    name: `${M === 1 ? 'GEMV' : 'matmul'} ${dtype} [${M},${K}]·[${N},${K}]ᵀ${nan ? ' (a NaN in it)' : ''}`,
    work: M === 1 ? N * K * bytesPerWeight : 2 * M * N * K,
    unit: M === 1 ? 'GB/s of weights' : 'GFLOP/s',
    setup(be) {
      const r = rng(N + K);
      const a = be.upload(
        Float32Array.from({ length: M * K }, () => r() - 0.5),
        [M, K],
        'f32',
      );
      const w = weights(be, dtype, N, K, 7, nan);
      return () => be.dispose(be.matmul(a, w, { transposeB: true }));
    },
  };
}

function attention(n: number, L: number): Case {
  const [H, Hkv, d] = [9, 3, 64];
  return {
    name: `attention f16 cache, ${n} quer${n === 1 ? 'y' : 'ies'} × ${L} keys`,
    work: 2 * 2 * n * H * L * d,
    unit: 'GFLOP/s',
    setup(be) {
      const r = rng(n * L);
      const f = (len: number) => Float32Array.from({ length: len }, () => r() - 0.5);
      const kv = {
        keys: be.upload(f(Hkv * L * d), [Hkv * L, d], 'f16'),
        values: be.upload(f(Hkv * L * d), [Hkv * L, d], 'f16'),
        positions: be.upload(
          Int32Array.from({ length: Hkv * L }, (_, i) => i % L),
          [Hkv * L],
          'i32',
        ),
        offsets: be.upload(
          Int32Array.from({ length: Hkv }, (_, h) => h * L),
          [Hkv],
          'i32',
        ),
        lengths: be.upload(
          Int32Array.from({ length: Hkv }, () => L),
          [Hkv],
          'i32',
        ),
      };
      const q = be.upload(f(n * H * d), [n, H, d], 'f32');
      const qp = be.upload(
        Int32Array.from({ length: n }, (_, i) => L - n + i),
        [n],
        'i32',
      );
      return () => be.dispose(be.raggedAttention(q, kv, qp));
    },
  };
}

/** CPU seconds this process used (all its threads) per wall second since `since`: the cores it got. */
function coresSince(since: { cpu: NodeJS.CpuUsage; wall: number }): number {
  const cpu = process.cpuUsage(since.cpu);
  return (cpu.user + cpu.system) / 1000 / (performance.now() - since.wall);
}
const mark = () => ({ cpu: process.cpuUsage(), wall: performance.now() });

/** Milliseconds per call and cores used: `calls` calls timed once. */
function timeCall(call: () => void, calls: number): [number, number] {
  const m = mark();
  for (let i = 0; i < calls; i++) call();
  return [(performance.now() - m.wall) / calls, coresSince(m)];
}

async function kernels(backends: WasmBackend[]) {
  const cases = [
    gemv('f16', 2, 1536, 576),
    gemv('f16', 2, 1536, 576, 1, true),
    gemv('f16', 2, 576, 1536),
    gemv('q8_0', 34 / 32, 576, 1536),
    gemv('q4_k', 144 / 256, 576, 1536),
    gemv('f16', 2, 1536, 576, 128),
    attention(1, 2048),
    attention(1, 16384),
    attention(128, 512),
  ];
  console.log(
    `\n| op | ${backends.map((b) => `${b.threads} thr`).join(' | ')} | ratio (${T} thr / 1) | cores used (${backends.map((b) => b.threads).join(' / ')} thr) |`,
  );
  console.log(`| --- | ${backends.map(() => '---:').join(' | ')} | ---: | ---: |`);
  for (const c of cases) {
    const calls = backends.map((be) => c.setup(be));
    // Warm up, then size each timing to about 40 ms of one thread's work.
    for (const call of calls) timeCall(call, 3);
    const [ms0] = timeCall(calls[0]!, 3);
    const n = Math.max(3, Math.round(40 / Math.max(ms0, 0.01)));
    const ms: number[][] = backends.map(() => []);
    const cores: number[][] = backends.map(() => []);
    for (let r = 0; r < ROUNDS; r++) {
      calls.forEach((call, i) => {
        const [t, used] = timeCall(call, n);
        ms[i]!.push(t);
        cores[i]!.push(used);
      });
    }
    const med = ms.map(median);
    const rate = med.map((m) => c.work / (m * 1e6));
    console.log(
      `| ${c.name} | ${rate.map((x) => `${x.toFixed(2)} ${c.unit}`).join(' | ')} | ${(med[0]! / med[1]!).toFixed(2)}× | ${cores.map((x) => median(x).toFixed(2)).join(' / ')} |`,
    );
  }
}

async function model(backends: WasmBackend[]) {
  const spec = ARCH_SPECS.find((s) => s.name === 'SmolLM2-135M')!;
  const dir = mkdtempSync(join(tmpdir(), 'kvsieve-wasm-threads-'));
  try {
    const path = join(dir, 'smollm2.gguf');
    const type = o.type === 'Q8_0' ? 'Q8_0' : 'F16';
    writeArchGguf(path, spec, 30, () => type, 1, { embed: 0.05, layer: 0.05 });
    const models = await Promise.all(backends.map((backend) => loadModel(path, { backend })));
    const prompt = Array.from({ length: Number(o.prompt) }, (_, i) => 100 + ((i * 7919) % 40000));
    const pre: number[][] = backends.map(() => []);
    const dec: number[][] = backends.map(() => []);
    const cores: number[][] = backends.map(() => []);
    const rounds = Math.max(2, Math.ceil(ROUNDS / 3));
    for (let r = 0; r < rounds; r++) {
      for (const [i, m] of models.entries()) {
        const since = mark();
        const it = generate(m, prompt, { maxTokens: Number(o.decode), stopTokens: [] });
        let s = await it.next();
        while (!s.done) s = await it.next();
        cores[i]!.push(coresSince(since));
        pre[i]!.push(s.value.prefill.tokensPerSecond);
        dec[i]!.push(s.value.decode.tokensPerSecond);
      }
    }
    const [p, d] = [pre.map(median), dec.map(median)];
    console.log(
      `\nSmolLM2-135M shape, ${type} weights, ${prompt.length}-token prompt, ${o.decode} decode tokens, median of ${rounds} alternating runs`,
    );
    console.log(`| threads | prefill tok/s | decode tok/s | cores used |\n| ---: | ---: | ---: | ---: |`);
    backends.forEach((b, i) =>
      console.log(
        `| ${b.threads} | ${p[i]!.toFixed(1)} | ${d[i]!.toFixed(2)} | ${median(cores[i]!).toFixed(2)} |`,
      ),
    );
    console.log(`| ratio ${T}/1 | ${(p[1]! / p[0]!).toFixed(2)}× | ${(d[1]! / d[0]!).toFixed(2)}× | |`);
    for (const m of models) m.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Cores `n` busy threads of this process get for 0.5 s: what the machine can give it now. */
async function capacity(n: number): Promise<number> {
  const { Worker } = await import('node:worker_threads');
  const m = mark();
  const spin = 'const end = performance.now() + 500; while (performance.now() < end) {}';
  await Promise.all(
    Array.from({ length: n }, () => new Promise((done) => new Worker(spin, { eval: true }).on('exit', done))),
  );
  return coresSince(m);
}

console.log(
  `machine now: 1 busy thread gets ${(await capacity(1)).toFixed(2)} cores, ${T} get ${(await capacity(T)).toFixed(2)}`,
);
const backends = [await createWasmBackend({ threads: 1 }), await createWasmBackend({ threads: T })];
console.log(
  `wasm backend, 1 vs ${T} threads; ${ROUNDS} alternating rounds, medians (a shared machine: read ratios)`,
);
await kernels(backends);
if (!o['skip-model']) await model(backends);
for (const b of backends) b.destroy();
