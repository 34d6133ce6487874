import { causalCache, rng, topkRef } from '@kvsieve/backend-conformance';
import { CpuBackend, KvsieveError, randomQuantized, seededRandom, type Tensor } from '@kvsieve/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BindingLimitError,
  createWebGpuBackend,
  DeviceLostError,
  NoAdapterError,
  type WebGpuBackend,
} from '../src/index.js';

describe('webgpu backend', () => {
  let be: WebGpuBackend;
  beforeAll(async () => {
    be = await createWebGpuBackend();
  });
  afterAll(() => be.destroy());

  it('reports the adapter and takes its limits', () => {
    expect(be.adapterName.length).toBeGreaterThan(0);
    // lavapipe offers 32 KiB of workgroup memory where the WebGPU default is 16 KiB.
    expect(be.device.limits.maxComputeWorkgroupStorageSize).toBeGreaterThanOrEqual(16384);
    expect(be.features.maxTensorBytes).toBe(
      Math.min(be.device.limits.maxStorageBufferBindingSize, be.device.limits.maxBufferSize),
    );
  });

  it('one pipeline per kernel serves every sequence length (shapes are uniforms)', async () => {
    const r = rng(1);
    const run = async (L: number) => {
      const q = be.upload(r.array(4 * 8 * 16), [4, 8, 16], 'f32');
      const k = be.upload(r.array(2 * L * 16), [2, L, 16], 'f32');
      const s = be.attentionColumnSums(q, k);
      const top = be.topk(s, 8);
      const idx = be.topk(be.pool1d(s, { kernel: 5, mode: 'avg' }), 8);
      await idx.read();
      for (const t of [q, k, s, top, idx]) t.dispose();
    };
    await run(100);
    const compiled = be.ctx.pipelineCount;
    for (const L of [101, 333, 1000]) await run(L);
    expect(be.ctx.pipelineCount).toBe(compiled);
  });

  it('released buffers are reused: a decode-style loop does not grow device memory', async () => {
    const x = be.upload(rng(2).array(64 * 64), [64, 64], 'f32');
    const step = () => {
      const y = be.matmul(x, x);
      const z = be.softmax(y);
      y.dispose();
      z.dispose();
    };
    step();
    await be.sync();
    const live = be.liveBytes();
    for (let i = 0; i < 20; i++) step();
    await be.sync();
    expect(be.liveBytes()).toBe(live);
    x.dispose();
  });

  it('topk over a 128K row matches the definition (ties, NaN)', async () => {
    const n = 128 * 1024;
    const x = new Float32Array(n);
    const r = rng(3);
    // Few distinct values: many ties, which must resolve to the lower index.
    for (let i = 0; i < n; i++) x[i] = Math.floor(r.next() * 1000) / 10;
    x[5] = Number.NaN;
    x[n - 1] = 1000;
    const got = await be.topk(be.upload(x, [1, n], 'f32'), 2000).read();
    expect(Array.from(got)).toEqual(topkRef(x, n, 2000));
  });

  it('decode attention split over keys (flash-decoding) matches the CPU reference', async () => {
    const cpu = new CpuBackend();
    const r = rng(7);
    const [H, d] = [6, 16];
    const lens = [3000, 0, 1700];
    const Hkv = lens.length;
    const rows = 5000;
    const off = [0, 3000, 3000];
    const pos = Int32Array.from({ length: rows }, (_, i) => i % 3000);
    const [q, k, v] = [r.array(H * d, -2, 2), r.array(rows * d, -2, 2), r.array(rows * d)];
    const run = async (be: CpuBackend | WebGpuBackend, qpos: number) => {
      const kv = {
        keys: be.upload(k, [rows, d], 'f32'),
        values: be.upload(v, [rows, d], 'f32'),
        positions: be.upload(pos, [rows], 'i32'),
        offsets: be.upload(off, [Hkv], 'i32'),
        lengths: be.upload(lens, [Hkv], 'i32'),
      };
      const ragged = await be
        .raggedAttention(be.upload(q, [1, H, d], 'f32'), kv, be.upload([qpos], [1], 'i32'))
        .read();
      // Equal-length heads, as a causal cache: 1500 keys each, split three ways.
      const cache = causalCache(be, k.subarray(0, 1500 * 2 * d), v.subarray(0, 1500 * 2 * d), 1500, 2, d);
      const causal = await be
        .raggedAttention(be.upload(q.subarray(0, 4 * d), [1, 4, d], 'f32'), cache.kv, cache.qPositions(1))
        .read();
      return [...ragged, ...causal];
    };
    for (const qpos of [2999, 1200]) {
      const [got, want] = [await run(be, qpos), await run(cpu, qpos)];
      got.forEach((x, i) => expect(Math.abs(x - want[i]!), `element ${i}`).toBeLessThan(2e-5));
    }
  });

  it('f16/bf16 weights read back as f32 and feed matmul, embedding and rmsnorm', async () => {
    const cpu = new CpuBackend();
    const r = rng(4);
    const w = r.array(32 * 48);
    for (const dt of ['f16', 'bf16'] as const) {
      const wg = be.upload(w, [32, 48], dt);
      const wc = cpu.upload(w, [32, 48], dt);
      expect(Array.from(await wg.read())).toEqual(Array.from(await wc.read()));
      const a = r.array(3 * 48);
      const got = await be.matmul(be.upload(a, [3, 48], 'f32'), wg, { transposeB: true }).read();
      const want = await cpu.matmul(cpu.upload(a, [3, 48], 'f32'), wc, { transposeB: true }).read();
      got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-4));
    }
  });
});

describe('native f16 loads', () => {
  it('shader-f16 and packed-bits decoding give identical results', async (ctx) => {
    const native = await createWebGpuBackend();
    if (!native.features.shaderF16) {
      native.destroy();
      ctx.skip();
      return;
    }
    const packed = await createWebGpuBackend({ nativeF16: false });
    const r = rng(6);
    // Includes f16 subnormals, infinities and NaN via raw bits.
    const bits = Uint16Array.from({ length: 40 * 24 }, (_, i) =>
      i < 8 ? [0x0001, 0x8200, 0x7c00, 0xfc00, 0x7e00, 0x03ff, 0x8000, 0x3c00][i]! : (r.next() * 0x7bff) | 0,
    );
    const [av, bigv] = [r.array(3 * 24), r.array(20 * 24)];
    const run = async (be: WebGpuBackend) => {
      const w = be.upload(bits, [40, 24], 'f16');
      const a = be.upload(av, [3, 24], 'f32');
      const big = be.upload(bigv, [20, 24], 'f32');
      return [
        await w.read(),
        await be.cast(w, 'f32').read(),
        await be.embedding(w, be.upload([0, 1, 39], [3], 'i32')).read(),
        await be.matmul(a, w, { transposeB: true }).read(),
        await be.matmul(big, w, { transposeB: true }).read(),
        await be.rmsnorm(a, be.upload(bits.subarray(8, 32), [24], 'f16'), 1e-5).read(),
      ].map((x) => Array.from(x));
    };
    const [x, y] = [await run(native), await run(packed)];
    x.forEach((v, i) => expect(v, `result ${i}`).toEqual(y[i]));
    native.destroy();
    packed.destroy();
  });
});

describe('webgpu bad input', () => {
  it('a tensor over the binding limit names the tensor, its size and the limit', async () => {
    const small = await createWebGpuBackend({ maxTensorBytes: 1024 });
    try {
      expect(small.features.maxTensorBytes).toBe(1024);
      expect(() => small.upload(new Float32Array(300), [300], 'f32', 'big weights')).toThrow(
        BindingLimitError,
      );
      expect(() => small.upload(new Float32Array(300), [300], 'f32', 'big weights')).toThrow(
        /big weights: tensor \[300\] f32 needs 1200 bytes, more than this device's binding limit of 1024 bytes\. Split it/,
      );
      const a = small.upload(new Float32Array(16 * 16), [16, 16], 'f32', 'a');
      const b = small.upload(new Float32Array(16 * 16), [16, 16], 'f32', 'b');
      expect(() => small.matmul(a, b)).not.toThrow();
      const wide = small.upload(new Float32Array(16 * 4), [16, 4], 'f32', 'wide');
      expect(() => small.matmul(wide.reshape([4, 16]), b.reshape([16, 16]))).not.toThrow();
      const tall = small.upload(new Float32Array(20 * 4), [20, 4], 'f32', 'tall');
      expect(() => small.matmul(tall, small.upload(new Float32Array(4 * 20), [4, 20], 'f32'))).toThrow(
        /matmul: tensor \[20, 20\] f32 needs 1600 bytes/,
      );
      // Scratch space counts too: a full-row top-k pads each row to a power of two of (key, index)
      // pairs. Three rows of 65 fit (780 bytes); their padded keys do not (3 · 128 · 4 = 1536 bytes).
      const x = small.upload(new Float32Array(195), [3, 65], 'f32');
      expect(() => small.topk(x, 65)).toThrow(
        /topk keys \(scratch\): tensor \[3, 128\] u32 needs 1536 bytes/,
      );
      // With k ≪ n only k candidates per row are sorted, and that fits.
      expect(() => small.topk(x, 3)).not.toThrow();
    } finally {
      small.destroy();
    }
  });

  it('a lost device rejects pending reads and refuses new work instead of hanging', async () => {
    const doomed = await createWebGpuBackend();
    const r = rng(5);
    const a = doomed.upload(r.array(256 * 256), [256, 256], 'f32');
    const y = doomed.matmul(a, a);
    const pending = y.read();
    doomed.destroy();
    await expect(pending).rejects.toThrow(DeviceLostError);
    await expect(doomed.sync()).rejects.toThrow(DeviceLostError);
    expect(() => doomed.matmul(a, a)).toThrow(DeviceLostError);
    await expect(a.read()).rejects.toThrow(/device lost \(destroyed\).*createWebGpuBackend/);
  });

  it('no adapter: a typed error that says how to get one', async () => {
    const noGpu = { requestAdapter: async () => null } as unknown as GPU;
    const err = await createWebGpuBackend({ gpu: noGpu }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoAdapterError);
    expect(err).toBeInstanceOf(KvsieveError);
    expect((err as Error).message).toMatch(/mesa-vulkan-drivers/);
    expect((err as Error).message).toMatch(/bookworm-backports/);
    expect((err as Error).message).toMatch(/browser/);
  });

  it('tensors of another backend are refused by name', () => {
    return createWebGpuBackend().then((g) => {
      const t = new CpuBackend().upload([1], [1], 'f32', 'cpu tensor');
      expect(() => g.scale(t, 2)).toThrow(/tensor 'cpu tensor' belongs to backend 'cpu'/);
      g.destroy();
    });
  });
});

describe('kernel shapes tuned for a GPU, a CPU rasterizer or subgroups', () => {
  it('matmulMany of same-dtype weights is one dispatch for one row; otherwise one per weight', async () => {
    const g = await createWebGpuBackend();
    const r = rng(10);
    const row = g.upload(r.array(64), [1, 64], 'f32');
    const rows = g.upload(r.array(2 * 64), [2, 64], 'f32');
    const ws = (dt: 'f16' | 'f32') => [40, 8, 8].map((n) => g.upload(r.array(n * 64), [n, 64], dt));
    const dispatches = (a: Tensor, bs: Tensor[]) => {
      const before = g.counters().dispatches;
      for (const t of g.matmulMany(a, bs)) t.dispose();
      return g.counters().dispatches - before;
    };
    expect(dispatches(row, ws('f16'))).toBe(1);
    expect(dispatches(row, [...ws('f16').slice(0, 2), ws('f32')[2]!])).toBe(3);
    expect(dispatches(rows, ws('f16'))).toBe(3);
    g.destroy();
  });

  it('matmulMany and swiglu with and without the input norm give the CPU result with each GEMV shape', async () => {
    const cpu = new CpuBackend();
    const r = rng(12);
    const K = 512;
    const wv = [40, 8, 8].map((n) => r.array(n * K));
    const gv = r.array(K);
    for (const tuneFor of ['gpu', 'cpu-rasterizer'] as const) {
      const g = await createWebGpuBackend({ tuneFor, subgroups: false });
      for (const M of [1, 3]) {
        const av = r.array(M * K);
        for (const norm of [false, true]) {
          const run = (be: CpuBackend | WebGpuBackend) => {
            const opts = norm ? { rmsnorm: { weight: be.upload(gv, [K], 'f32'), eps: 1e-5 } } : {};
            const ws = wv.map((w, i) => be.upload(w, [[40, 8, 8][i]!, K], 'f16'));
            return Promise.all(be.matmulMany(be.upload(av, [M, K], 'f32'), ws, opts).map((t) => t.read()));
          };
          // And the SwiGLU product of the first weight with itself as gate and up.
          const runSwiglu = (be: CpuBackend | WebGpuBackend) => {
            const opts = norm ? { rmsnorm: { weight: be.upload(gv, [K], 'f32'), eps: 1e-5 } } : {};
            const w = be.upload(wv[0]!, [40, K], 'f16');
            return be.swiglu(be.upload(av, [M, K], 'f32'), w, w, opts).read();
          };
          const want = [...(await run(cpu)), await runSwiglu(cpu)];
          const got = [...(await run(g)), await runSwiglu(g)];
          got.forEach((out, i) =>
            out.forEach((v, c) =>
              expect(v, `${tuneFor} M=${M} norm=${norm} #${i} [${c}]`).toBeCloseTo(want[i]![c]!, 3),
            ),
          );
        }
      }
      g.destroy();
    }
  });

  it('GEMV of every weight type gives the CPU reference result with each shape', async () => {
    const cpu = new CpuBackend();
    const backends = [
      await createWebGpuBackend({ tuneFor: 'gpu', subgroups: false }),
      await createWebGpuBackend({ tuneFor: 'cpu-rasterizer', subgroups: false }),
      await createWebGpuBackend({ subgroups: true }),
    ];
    // The subgroup shape is only taken where the device has fixed-size subgroups (lavapipe: 8).
    const sub = backends[2]!.ctx.subgroupSize;
    if (backends[2]!.device.features.has('subgroups')) expect(sub).toBeGreaterThan(0);
    const r = rng(9);
    const N = 37;
    // K = 512: rows of whole units (read by gemv-units.ts, over several Q4_K blocks); K = 100: not.
    for (const [K, rows, dtype] of [512, 100].flatMap((K) =>
      [1, 3].flatMap((rows) =>
        (['f32', 'f16', 'bf16', 'q8_0', 'q4_k'] as const)
          .filter((t) => K % 256 === 0 || !t.startsWith('q'))
          .map((t) => [K, rows, t] as const),
      ),
    )) {
      const wv = r.array(N * K);
      const av = r.array(rows * K);
      {
        const data =
          dtype === 'q8_0' || dtype === 'q4_k' ? randomQuantized(dtype, [N, K], seededRandom(rows)) : wv;
        const run = (be: CpuBackend | WebGpuBackend) =>
          be
            .matmul(be.upload(av, [rows, K], 'f32'), be.upload(data, [N, K], dtype), { transposeB: true })
            .read();
        const want = await run(cpu);
        for (const [i, be] of backends.entries()) {
          const got = await run(be);
          got.forEach((v, c) =>
            expect(v, `${dtype} ${rows} rows, shape ${i} [${c}]`).toBeCloseTo(want[c]!, 3),
          );
        }
      }
    }
    for (const be of backends) be.destroy();
  });
});
