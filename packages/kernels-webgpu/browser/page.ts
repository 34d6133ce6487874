// Runs in the browser (bundled by browser/run.mjs): a few ops on navigator.gpu through
// createWebGpuBackend(), each compared with core's CpuBackend in the same page. The result goes to
// the console and to globalThis.__kvsieveBrowserResult, which the driver waits for.
import {
  type Backend,
  CpuBackend,
  QUANT_DTYPES,
  QUANT_LAYOUTS,
  randomQuantized,
  seededRandom,
  type Tensor,
} from '@kvsieve/core';
import { createWebGpuBackend } from '../src/index.js';

export interface BrowserRow {
  readonly op: string;
  /** Largest |webgpu − cpu| over the output (index mismatches count for exact integer ops). */
  readonly maxAbsError: number;
  readonly tolerance: string;
  readonly pass: boolean;
  readonly error?: string;
}

export interface BrowserResult {
  readonly adapter: Record<string, string | number | boolean>;
  readonly rows: readonly BrowserRow[];
  readonly ok: boolean;
  readonly error?: string;
}

/** Deterministic uniform numbers in [lo, hi), the same on every run. */
function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    array: (n: number, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * next()),
    ints: (n: number, lo: number, hi: number) =>
      Int32Array.from({ length: n }, () => lo + Math.floor(next() * (hi - lo))),
  };
}

/** Elementwise |a − e| ≤ atol + rtol·|e|; exact ops pass atol = rtol = 0. */
function compare(
  op: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  atol: number,
  rtol: number,
): BrowserRow {
  const e = (x: number) => (x === 0 ? '0' : x.toExponential());
  const tolerance = rtol === 0 ? e(atol) : `${e(atol)} + ${e(rtol)}·|cpu|`;
  if (got.length !== want.length) {
    return {
      op,
      maxAbsError: Number.NaN,
      tolerance,
      pass: false,
      error: `length ${got.length} ≠ ${want.length}`,
    };
  }
  let worst = 0;
  let pass = true;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    // NaN errors fail: none of these inputs produce NaN on the CPU.
    if (!(err <= atol + rtol * Math.abs(want[i]!))) pass = false;
    if (!(err <= worst)) worst = err;
  }
  return { op, maxAbsError: worst, tolerance, pass };
}

type Case = (be: Backend) => Tensor | Promise<Tensor>;

async function both(gpu: Backend, cpu: Backend, run: Case): Promise<[ArrayLike<number>, ArrayLike<number>]> {
  const g = await (await run(gpu)).read();
  const c = await (await run(cpu)).read();
  return [g, c];
}

async function adapterInfo(): Promise<Record<string, string | number | boolean>> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) return { navigatorGpu: false };
  const adapter = await gpu.requestAdapter();
  if (!adapter) return { navigatorGpu: true, adapter: 'none' };
  const info = adapter.info;
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    shaderF16: adapter.features.has('shader-f16'),
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
  };
}

async function runAll(): Promise<BrowserResult> {
  const adapter = await adapterInfo();
  const gpu = await createWebGpuBackend();
  const cpu = new CpuBackend();
  const r = rng(2026);
  const rows: BrowserRow[] = [];
  const attempt = async (op: string, body: () => Promise<BrowserRow>) => {
    try {
      rows.push(await body());
    } catch (err) {
      const e = err as Error;
      rows.push({
        op,
        maxAbsError: Number.NaN,
        tolerance: '-',
        pass: false,
        error: `${e.name}: ${e.message}`,
      });
    }
  };

  // Weights as a model's linear layer holds them ([N, K], transposeB); f16 where the adapter
  // decodes it natively, else f32 (the CPU reads the same rounded f16 values, so the tolerance
  // covers only f32 accumulation order: 2e-6 per term of inputs in [-1, 1]).
  const wDType = gpu.features.shaderF16 ? 'f16' : 'f32';
  const [M, K, N] = [33, 256, 96];
  const a = r.array(M * K);
  const w = r.array(N * K);
  await attempt(`matmul ${M}x${K}·(${N}x${K} ${wDType})ᵀ`, async () => {
    const [g, c] = await both(gpu, cpu, (be) =>
      be.matmul(be.upload(a, [M, K], 'f32'), be.upload(w, [N, K], wDType), { transposeB: true }),
    );
    return compare(`matmul ${M}x${K}·(${N}x${K} ${wDType})ᵀ`, g, c, 2e-6 * K, 0);
  });

  // Quantized weights (ggml blocks, dequantized in the kernels): decode (GEMV, M = 1), prefill
  // (tiled, M = 33) and an embedding lookup per format.
  for (const dtype of QUANT_DTYPES) {
    const Kq = 2 * QUANT_LAYOUTS[dtype].blockSize;
    const Nq = 70;
    const wq = randomQuantized(dtype, [Nq, Kq], seededRandom(QUANT_DTYPES.indexOf(dtype) + 1));
    for (const Mq of [1, 33]) {
      const op = `matmul ${Mq}x${Kq}·(${Nq}x${Kq} ${dtype})ᵀ`;
      const aq = r.array(Mq * Kq);
      await attempt(op, async () => {
        const [g, c] = await both(gpu, cpu, (be) =>
          be.matmul(be.upload(aq, [Mq, Kq], 'f32'), be.upload(wq, [Nq, Kq], dtype), { transposeB: true }),
        );
        return compare(op, g, c, 2e-6 * Kq, 1e-5);
      });
    }
    const ids = r.ints(9, 0, Nq);
    await attempt(`embedding ${dtype} [${Nq},${Kq}] 9 ids`, async () => {
      const [g, c] = await both(gpu, cpu, (be) =>
        be.embedding(be.upload(wq, [Nq, Kq], dtype), be.upload(ids, [9], 'i32')),
      );
      return compare(`embedding ${dtype} [${Nq},${Kq}] 9 ids`, g, c, 1e-6, 1e-6);
    });
  }

  const [rowsN, D] = [17, 320];
  const x = r.array(rowsN * D, -3, 3);
  const nw = r.array(D, 0.5, 1.5);
  await attempt(`rmsnorm ${rowsN}x${D}`, async () => {
    const [g, c] = await both(gpu, cpu, (be) =>
      be.rmsnorm(be.upload(x, [rowsN, D], 'f32'), be.upload(nw, [D], 'f32'), 1e-5),
    );
    return compare(`rmsnorm ${rowsN}x${D}`, g, c, 2e-6, 2e-5);
  });

  // Attention outputs are convex combinations of values in [-1, 1]. A causal cache: each KV head
  // holds m keys at positions 0 … m − 1, and the n queries sit at the last n positions.
  const [n, m, H, Hkv, d] = [24, 70, 8, 2, 64];
  const q = r.array(n * H * d, -2, 2);
  const k = r.array(Hkv * m * d, -2, 2);
  const v = r.array(Hkv * m * d);
  const attnOp = `raggedAttention (causal) n=${n} m=${m} H=${H} Hkv=${Hkv} d=${d}`;
  await attempt(attnOp, async () => {
    const [g, c] = await both(gpu, cpu, (be) =>
      be.raggedAttention(
        be.upload(q, [n, H, d], 'f32'),
        {
          keys: be.upload(k, [Hkv * m, d], 'f32'),
          values: be.upload(v, [Hkv * m, d], 'f32'),
          positions: be.upload(
            Int32Array.from({ length: Hkv * m }, (_, i) => i % m),
            [Hkv * m],
            'i32',
          ),
          offsets: be.upload(
            Int32Array.from({ length: Hkv }, (_, h) => h * m),
            [Hkv],
            'i32',
          ),
          lengths: be.upload(new Int32Array(Hkv).fill(m), [Hkv], 'i32'),
        },
        be.upload(
          Int32Array.from({ length: n }, (_, i) => m - n + i),
          [n],
          'i32',
        ),
      ),
    );
    return compare(attnOp, g, c, 2e-5, 1e-4);
  });

  // Window scores are sums of w probabilities.
  const [wq, L, dw] = [16, 300, 32];
  const qw = r.array(H * wq * dw, -2, 2);
  const kw = r.array(Hkv * L * dw, -2, 2);
  const winOp = `attentionColumnSums H=${H} Hkv=${Hkv} w=${wq} L=${L} d=${dw}`;
  await attempt(winOp, async () => {
    const [g, c] = await both(gpu, cpu, (be) =>
      be.attentionColumnSums(be.upload(qw, [H, wq, dw], 'f32'), be.upload(kw, [Hkv, L, dw], 'f32')),
    );
    return compare(winOp, g, c, 2e-5 * wq, 0);
  });

  // Distinct random scores: the indices must agree exactly.
  const [R, cols, kk] = [4, 1000, 32];
  const s = r.array(R * cols);
  await attempt(`topk ${R}x${cols} k=${kk}`, async () => {
    const [g, c] = await both(gpu, cpu, (be) => be.topk(be.upload(s, [R, cols], 'f32'), kk));
    return compare(`topk ${R}x${cols} k=${kk}`, g, c, 0, 0);
  });

  // Rows of odd width straddle 32-bit words in f16.
  const [SR, a1, c1] = [50, 3, 7];
  const src = r.array(SR * a1 * c1, -4, 4);
  const idx = r.ints(20, 0, SR);
  for (const dtype of ['f32', 'f16'] as const) {
    await attempt(`gatherRows ${dtype} [${SR},${a1},${c1}] 20 rows`, async () => {
      const [g, c] = await both(gpu, cpu, (be) =>
        be.gatherRows(be.upload(src, [SR, a1, c1], dtype), be.upload(idx, [20], 'i32')),
      );
      return compare(`gatherRows ${dtype} [${SR},${a1},${c1}] 20 rows`, g, c, 0, 0);
    });
  }
  const targets = Int32Array.from([49, 0, 17, 3, 30, 8]);
  const patch = r.array(targets.length * a1 * c1, -4, 4);
  for (const dtype of ['f32', 'f16'] as const) {
    await attempt(`scatterRows ${dtype} [${SR},${a1},${c1}] 6 rows`, async () => {
      const [g, c] = await both(gpu, cpu, (be) => {
        const dst = be.upload(src, [SR, a1, c1], dtype);
        be.scatterRows(
          dst,
          be.upload(targets, [targets.length], 'i32'),
          be.upload(patch, [6, a1, c1], dtype),
        );
        return dst;
      });
      return compare(`scatterRows ${dtype} [${SR},${a1},${c1}] 6 rows`, g, c, 0, 0);
    });
  }

  gpu.destroy();
  return {
    adapter: { ...adapter, backendAdapterName: gpu.adapterName },
    rows,
    ok: rows.every((x) => x.pass),
  };
}

const g = globalThis as { __kvsieveBrowserResult?: BrowserResult };
runAll().then(
  (result) => {
    console.log(`kvsieve browser check: ${result.ok ? 'PASS' : 'FAIL'}`);
    g.__kvsieveBrowserResult = result;
  },
  (err: Error) => {
    console.error(`kvsieve browser check failed: ${err.name}: ${err.message}`);
    g.__kvsieveBrowserResult = { adapter: {}, rows: [], ok: false, error: `${err.name}: ${err.message}` };
  },
);
