// Benchmark: each op at several sizes on the WebGPU backend and on core's CPU reference, in the
// same process, printing a table. Run from the repository root after `pnpm build`:
//   pnpm --filter @kvsieve/kernels-webgpu bench            (add -- --quick for a short run)
// GPU times are wall time from enqueue to completion (queue.onSubmittedWorkDone), after one warm-up
// call that compiles the pipelines. CPU times are wall time of the synchronous reference op.
import { CpuBackend, randomQuantized, seededRandom } from '@kvsieve/core';
import { createWebGpuBackend } from '../dist/index.js';

const quick = process.argv.includes('--quick');
// --only=<text>: run the cases whose op name contains <text>.
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const MIN_SECONDS = quick ? 0.2 : 1;
// The CPU reference is slow: above this estimated cost (in seconds) it runs once, and above
// CPU_SKIP it does not run at all (the table says so).
const CPU_SKIP = quick ? 5 : 60;

function rng(seed) {
  let s = seed >>> 0;
  return (n) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      out[i] = s / 2 ** 31 - 1;
    }
    return out;
  };
}

async function timeGpu(gpu, run) {
  const warm = run();
  await gpu.sync();
  for (const t of [warm].flat()) t.dispose();
  let iters = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < MIN_SECONDS * 1000 || iters < 3) {
    const out = run();
    await gpu.sync();
    for (const t of [out].flat()) t.dispose();
    iters++;
    elapsed = performance.now() - start;
    if (elapsed > 20_000) break;
  }
  return { ms: elapsed / iters, iters };
}

function timeCpu(run, estimateSeconds) {
  if (estimateSeconds > CPU_SKIP)
    return { ms: Number.NaN, iters: 0, note: `skipped (est. ${estimateSeconds.toFixed(0)} s)` };
  let iters = 0;
  const start = performance.now();
  let elapsed = 0;
  const maxIters = estimateSeconds > MIN_SECONDS ? 1 : 1000;
  while ((elapsed < MIN_SECONDS * 1000 || iters < 1) && iters < maxIters) {
    const out = run();
    for (const t of [out].flat()) t.dispose();
    iters++;
    elapsed = performance.now() - start;
  }
  return { ms: elapsed / iters, iters, note: iters === 1 ? '1 run' : '' };
}

// Rough CPU reference speed (f64 JS loops) used only to decide how often to run the CPU side.
const CPU_FLOPS = 4e8;

function cases() {
  const list = [];
  for (const s of [256, 512, 1024, 2048]) {
    list.push({
      op: 'matmul f32 (a·bᵀ)',
      size: `${s}×${s}×${s}`,
      flops: 2 * s ** 3,
      setup: (be, r) => [be.upload(r(s * s), [s, s], 'f32'), be.upload(r(s * s), [s, s], 'f32')],
      run: (be, [a, b]) => be.matmul(a, b, { transposeB: true }),
    });
  }
  for (const [K, N] of [
    [2048, 2048],
    [2048, 8192],
  ]) {
    list.push({
      op: 'matmul decode, f16 weights',
      size: `1×${K}×${N}`,
      flops: 2 * K * N,
      setup: (be, r) => [be.upload(r(K), [1, K], 'f32'), be.upload(r(N * K), [N, K], 'f16')],
      run: (be, [a, b]) => be.matmul(a, b, { transposeB: true }),
    });
  }
  // Quantized weights (ggml blocks dequantized in the kernels) beside the f16 and f32 rows above.
  for (const dtype of ['q8_0', 'q6_k', 'q4_k', 'q4_0']) {
    for (const [K, N] of [
      [2048, 2048],
      [2048, 8192],
    ]) {
      list.push({
        op: `matmul decode, ${dtype} weights`,
        size: `1×${K}×${N}`,
        flops: 2 * K * N,
        setup: (be, r) => [
          be.upload(r(K), [1, K], 'f32'),
          be.upload(randomQuantized(dtype, [N, K], seededRandom(1)), [N, K], dtype),
        ],
        run: (be, [a, b]) => be.matmul(a, b, { transposeB: true }),
      });
    }
  }
  for (const dtype of ['f32', 'f16', 'q4_k']) {
    const [M, K, N] = [128, 2048, 2048];
    list.push({
      op: `matmul prefill, ${dtype} weights`,
      size: `${M}×${K}×${N}`,
      flops: 2 * M * K * N,
      setup: (be, r) => [
        be.upload(r(M * K), [M, K], 'f32'),
        dtype === 'q4_k'
          ? be.upload(randomQuantized(dtype, [N, K], seededRandom(1)), [N, K], dtype)
          : be.upload(r(N * K), [N, K], dtype),
      ],
      run: (be, [a, b]) => be.matmul(a, b, { transposeB: true }),
    });
  }
  const H = 8;
  const Hkv = 2;
  const d = 64;
  for (const L of [1024, 4096, 16384]) {
    list.push({
      op: `decode attention H=${H} Hkv=${Hkv} d=${d}`,
      size: `1 query, ${L / 1024}K keys`,
      flops: 4 * H * L * d,
      setup: (be, r) => {
        const rows = Hkv * L;
        const pos = Int32Array.from({ length: rows }, (_, i) => i % L);
        return [
          be.upload(r(H * d), [1, H, d], 'f32'),
          {
            keys: be.upload(r(rows * d), [rows, d], 'f32'),
            values: be.upload(r(rows * d), [rows, d], 'f32'),
            positions: be.upload(pos, [rows], 'i32'),
            offsets: be.upload([0, L], [Hkv], 'i32'),
            lengths: be.upload([L, L], [Hkv], 'i32'),
          },
          be.upload([L], [1], 'i32'),
        ];
      },
      run: (be, [q, kv, qp]) => be.raggedAttention(q, kv, qp),
    });
  }
  for (const L of [1024, 4096]) {
    list.push({
      op: `prefill attention H=${H} Hkv=${Hkv} d=${d}`,
      size: `${L / 1024}K queries × ${L / 1024}K keys`,
      flops: 2 * H * L * L * d,
      // A causal cache: each KV head's L keys at positions 0 … L − 1, one query per position.
      setup: (be, r) => {
        const rows = Hkv * L;
        return [
          be.upload(r(L * H * d), [L, H, d], 'f32'),
          {
            keys: be.upload(r(rows * d), [rows, d], 'f32'),
            values: be.upload(r(rows * d), [rows, d], 'f32'),
            positions: be.upload(
              Int32Array.from({ length: rows }, (_, i) => i % L),
              [rows],
              'i32',
            ),
            offsets: be.upload([0, L], [Hkv], 'i32'),
            lengths: be.upload([L, L], [Hkv], 'i32'),
          },
          be.upload(
            Int32Array.from({ length: L }, (_, i) => i),
            [L],
            'i32',
          ),
        ];
      },
      run: (be, [q, kv, qp]) => be.raggedAttention(q, kv, qp),
    });
  }
  const w = 32;
  for (const L of [1024, 4096, 16384]) {
    list.push({
      op: `attentionColumnSums H=${H} Hkv=${Hkv} d=${d} w=${w}`,
      size: `${L / 1024}K keys`,
      flops: 4 * H * w * L * d,
      setup: (be, r) => [
        be.upload(r(H * w * d), [H, w, d], 'f32'),
        be.upload(r(Hkv * L * d), [Hkv, L, d], 'f32'),
      ],
      run: (be, [q, k]) => be.attentionColumnSums(q, k),
    });
  }
  for (const n of [4096, 16384, 65536, 131072]) {
    const R = 8;
    list.push({
      op: `topk ${R} rows, k = n/8`,
      size: `${n / 1024}K`,
      flops: R * n * Math.log2(n) * 40, // JS sort: ~comparisons × cost
      setup: (be, r) => [be.upload(r(R * n), [R, n], 'f32')],
      run: (be, [x]) => be.topk(x, n / 8),
    });
  }
  return list;
}

function fmt(ms) {
  if (Number.isNaN(ms)) return '—';
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

const gpu = await createWebGpuBackend();
const cpu = new CpuBackend();
console.log(
  `WebGPU adapter: ${gpu.adapterName}; CPU reference: @kvsieve/core CpuBackend; node ${process.version}`,
);
console.log(`Times are ms per call (mean over the iterations shown). ratio = CPU time / WebGPU time.\n`);
const rows = [['op', 'size', 'WebGPU ms', '(iters)', 'GFLOP/s', 'CPU ms', '(iters)', 'ratio']];
const print = (r) => console.log(`| ${r.join(' | ')} |`);
print(rows[0]);
print(rows[0].map(() => '---'));
for (const c of cases().filter((x) => !only || x.op.includes(only))) {
  const r = rng(7);
  const gIn = c.setup(gpu, r);
  const g = await timeGpu(gpu, () => c.run(gpu, gIn));
  const cIn = c.setup(cpu, rng(7));
  const cRes = timeCpu(() => c.run(cpu, cIn), c.flops / CPU_FLOPS);
  const gflops = c.op.startsWith('topk') ? '' : (c.flops / (g.ms / 1000) / 1e9).toFixed(2);
  const ratio = Number.isNaN(cRes.ms) ? '—' : `${(cRes.ms / g.ms).toFixed(2)}×`;
  print([
    c.op,
    c.size,
    fmt(g.ms),
    String(g.iters),
    gflops,
    fmt(cRes.ms),
    cRes.note || String(cRes.iters),
    ratio,
  ]);
  const dispose = (xs) => xs.forEach((x) => (x.dispose ? x.dispose() : dispose(Object.values(x))));
  dispose(gIn);
}
gpu.destroy();
process.exit(0);
