import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { type Backend, OptionError, TensorStateError } from '@kvsieve/core';
import { describe, expect, test } from 'vitest';
import { createWasmBackend, defaultThreads, WasmWorkerError } from '../src/index.js';
import { Allocator } from '../src/wasm/heap.js';
import { instantiateKernels } from '../src/wasm/instance.js';
import { MIN_PART_WORK, PoolDispatcher, type PoolOptions } from '../src/wasm/pool.js';

/** A pool over a fresh instance, with direct access to its kernels (minPartWork 0: always split). */
async function pool(opts: PoolOptions) {
  const inst = await instantiateKernels('mt');
  const alloc = new Allocator(inst.memory, inst.heapBase);
  const p = await PoolDispatcher.create(inst.module, inst.kernels, inst.memory, alloc, {
    minPartWork: 0,
    ...opts,
  });
  const f32 = (ptr: number, n: number) => new Float32Array(inst.memory.buffer, ptr, n);
  return { inst, alloc, p, f32 };
}

function seeded(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

describe('thread count', () => {
  test('the threads module runs as many threads as asked; the plain one runs 1 and says why', async () => {
    const mt = await createWasmBackend({ threads: 3 });
    expect([mt.variant, mt.threads, mt.requestedThreads, mt.threadsNote]).toEqual(['mt', 3, 3, undefined]);
    mt.destroy();
    const st = await createWasmBackend({ threads: 3, sharedMemory: false });
    expect([st.variant, st.threads, st.requestedThreads]).toEqual(['st', 1, 3]);
    expect(st.threadsNote).toMatch(/single-threaded module/);
    st.destroy();
  });

  test('the default is the machine cores, at most 8', async () => {
    expect(defaultThreads()).toBe(Math.min(availableParallelism(), 8));
    const b = await createWasmBackend();
    expect(b.threads).toBe(defaultThreads());
    b.destroy();
  });

  test('bad options are OptionErrors', async () => {
    await expect(createWasmBackend({ threads: 0 })).rejects.toThrow(OptionError);
    await expect(createWasmBackend({ threads: 2, minThreadWork: -1 })).rejects.toThrow(OptionError);
  });
});

describe('pool lifecycle', () => {
  test("a worker's trap is a WasmWorkerError naming the kernel, and the pool goes on working", async () => {
    const { inst, alloc, p, f32 } = await pool({ threads: 2 });
    const n = 64;
    const out = alloc.alloc(4 * n, 'out');
    // kv_scale reads x[r] for its units: the first half in bounds, the second (the worker's) past the memory's end.
    const x = inst.memory.buffer.byteLength - 4 * (n / 2);
    expect(() => p.run('kv_scale', [x, out, 2], n)).toThrow(/kv_scale: worker 1 failed: RuntimeError/);
    expect(() => p.run('kv_scale', [x, out, 2], n)).toThrow(WasmWorkerError);
    const src = alloc.alloc(4 * n, 'src');
    f32(src, n).set(Array.from({ length: n }, (_, i) => i));
    p.run('kv_scale', [src, out, 2], n);
    expect(Array.from(f32(out, n))).toEqual(Array.from({ length: n }, (_, i) => 2 * i));
    p.destroy();
  });

  test("the calling thread's own trap is thrown after the workers finish, and the pool goes on", async () => {
    const { inst, alloc, p, f32 } = await pool({ threads: 3 });
    const n = 60;
    const out = alloc.alloc(4 * n, 'out');
    // Part 0 (the caller's) reads past the end; the workers' parts are in bounds.
    const x = inst.memory.buffer.byteLength - 4 * n * 0.9;
    expect(() => p.run('kv_scale', [x, out, 1], n)).toThrow(/out of bounds/);
    const src = alloc.alloc(4 * n, 'src');
    f32(src, n).fill(3);
    p.run('kv_scale', [src, out, 2], n);
    expect(f32(out, n).every((v) => v === 6)).toBe(true);
    p.destroy();
  });

  test('a worker that exits stops the pool: later runs throw WasmWorkerError', async () => {
    // The default threshold, so that the small job below runs inline until the pool hears of the exit.
    const { alloc, p } = await pool({ threads: 2, minPartWork: MIN_PART_WORK });
    p.workers[0]!.terminate();
    const out = alloc.alloc(64, 'out');
    // The exit event arrives on the event loop, between calls.
    for (
      let i = 0;
      i < 100 && !String(tryRun(() => p.run('kv_scale', [out, out, 1], 16))).includes('exited');
      i++
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(() => p.run('kv_scale', [out, out, 1], 16)).toThrow(/worker pool is stopped: worker 1 exited/);
    p.destroy();
  });

  test('a worker gone during a call is caught by the watchdog instead of hanging', async () => {
    const { alloc, p } = await pool({ threads: 2, ackTimeoutMs: 300 });
    const out = alloc.alloc(64, 'out');
    p.workers[0]!.terminate();
    // Stay synchronous (the exit event cannot be seen) until the thread is surely gone.
    const until = performance.now() + 2000;
    while (performance.now() < until) {}
    expect(() => p.run('kv_scale', [out, out, 1], 16)).toThrow(
      /worker 1 did not pick up kv_scale within 0.3 s/,
    );
    expect(() => p.run('kv_scale', [out, out, 1], 16)).toThrow(WasmWorkerError);
    p.destroy();
  });

  test('destroy stops the pool; later ops throw TensorStateError; destroying twice is harmless', async () => {
    const b = await createWasmBackend({ threads: 2 });
    const x = b.upload(new Float32Array(8), [2, 4], 'f32');
    b.destroy();
    b.destroy();
    expect(() => b.scale(x, 2)).toThrow(TensorStateError);
  });

  const tsx = createRequire(import.meta.url).resolve('tsx/cli');
  const script = fileURLToPath(new URL('./fixtures/pool-exit.ts', import.meta.url));
  for (const mode of ['destroy', 'keep']) {
    test(`a process ends on its own with a pool (${mode === 'keep' ? 'never destroyed' : 'destroyed'})`, async () => {
      const out = await new Promise<string>((resolve, reject) => {
        execFile(
          process.execPath,
          [tsx, '--conditions=@kvsieve/source', script, mode],
          { timeout: 60_000 },
          (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
        );
      });
      expect(out.trim()).toBe(`threads 3 sum ${4095 * 4096}`);
    });
  }
});

function tryRun(f: () => void): unknown {
  try {
    f();
    return undefined;
  } catch (e) {
    return e;
  }
}

describe('results across threads', () => {
  /** The same op sequence on 1 and on 4 threads (every op split): bit-identical outputs. */
  async function both(f: (b: Backend) => Promise<Float32Array[]>) {
    const one = await createWasmBackend({ threads: 1 });
    const four = await createWasmBackend({ threads: 4, minThreadWork: 0 });
    const [a, b] = [await f(one), await f(four)];
    one.destroy();
    four.destroy();
    expect(b).toEqual(a);
  }

  test('every part has its own scratch: GEMV, blocked matmul and attention over f16, growing scratch', async () => {
    await both(async (be) => {
      const outs: Float32Array[] = [];
      for (const [M, K, N] of [
        [1, 300, 148],
        [3, 1200, 36],
        [20, 520, 130],
        [1, 2600, 40],
      ] as const) {
        const r = seeded(M * K + N);
        const a = be.upload(Float32Array.from({ length: M * K }, r), [M, K], 'f32');
        const w = be.upload(Float32Array.from({ length: N * K }, r), [N, K], 'f16');
        outs.push((await be.read(be.matmul(a, w, { transposeB: true }))) as Float32Array);
      }
      const [n, H, Hkv, d, L] = [5, 8, 2, 64, 700];
      const r = seeded(7);
      const q = be.upload(Float32Array.from({ length: n * H * d }, r), [n, H, d], 'f32');
      const k = be.upload(Float32Array.from({ length: Hkv * L * d }, r), [Hkv * L, d], 'f16');
      const v = be.upload(Float32Array.from({ length: Hkv * L * d }, r), [Hkv * L, d], 'f16');
      const kv = {
        keys: k,
        values: v,
        positions: be.upload(
          Int32Array.from({ length: Hkv * L }, (_, i) => i % L),
          [Hkv * L],
          'i32',
        ),
        offsets: be.upload(Int32Array.from([0, L]), [Hkv], 'i32'),
        lengths: be.upload(Int32Array.from([L, L - 99]), [Hkv], 'i32'),
      };
      const qp = be.upload(
        Int32Array.from({ length: n }, (_, i) => L - n + i),
        [n],
        'i32',
      );
      outs.push((await be.read(be.raggedAttention(q, kv, qp))) as Float32Array);
      return outs;
    });
  });

  test('many small calls in a row (10,000 ops, every one split) keep results and memory steady', async () => {
    await both(async (be) => {
      const r = seeded(3);
      const w = be.upload(Float32Array.from({ length: 8 * 64 }, r), [8, 64], 'f16');
      const norm = be.upload(
        Float32Array.from({ length: 64 }, () => 1),
        [64],
        'f32',
      );
      let x = be.upload(Float32Array.from({ length: 2 * 64 }, r), [2, 64], 'f32');
      let memory = 0;
      for (let i = 0; i < 2500; i++) {
        const h = be.rmsnorm(x, norm, 1e-5);
        const y = be.matmul(h, w, { transposeB: true });
        const m = be.matmul(y, w);
        const s = be.scale(m, 0.5);
        const c = be.cast(s, 'f16');
        const z = be.add(x, c);
        for (const t of [h, y, m, s, c]) be.dispose(t);
        be.dispose(x);
        x = z;
        if (i === 10) memory = (be as unknown as { memoryBytes(): number }).memoryBytes();
      }
      expect((be as unknown as { memoryBytes(): number }).memoryBytes()).toBe(memory);
      return [(await be.read(x)) as Float32Array];
    });
  });
});
