import { expectClose, matmulRef, readF32, rng } from '@kvsieve/backend-conformance';
import {
  type Backend,
  CpuBackend,
  type DType,
  decodeHalf,
  dequantize,
  encodeHalf,
  OptionError,
  randomQuantized,
  seededRandom,
  TensorStateError,
} from '@kvsieve/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWasmBackend, type WasmBackend } from '../src/index.js';
import { typeCode } from '../src/wasm/types.js';

// What the shared conformance suite does not reach: every 16-bit bit pattern through each decode
// path, the kernels' blocking edges, chunked scores, memory growth, and the backend's own options.

/** Every f16 (or bf16) bit pattern whose value is finite, in order. */
function finitePatterns(dtype: 'f16' | 'bf16'): Uint16Array {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  return all.filter((h) => Number.isFinite(decodeHalf([h], dtype)[0]!));
}

function sameValues(got: Float32Array, want: Float32Array, what: string) {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const ok = Object.is(got[i], want[i]) || (Number.isNaN(got[i]!) && Number.isNaN(want[i]!));
    if (!ok) throw new Error(`${what}[${i}]: got ${got[i]}, expected ${want[i]}`);
  }
}

for (const shared of [true, false]) {
  describe(`wasm backend (${shared ? 'shared' : 'plain'} memory)`, () => {
    let be: WasmBackend;
    const cpu = new CpuBackend();
    beforeAll(async () => {
      be = await createWasmBackend({ sharedMemory: shared });
    });
    afterAll(() => be.destroy());

    it('decodes every f16 and bf16 bit pattern exactly: embedding, mul, cast', async () => {
      for (const dtype of ['f16', 'bf16'] as const) {
        const bits = Uint16Array.from({ length: 65536 }, (_, i) => i);
        const want = decodeHalf(bits, dtype);
        // Rows of 13: the SIMD body and the scalar tail both decode.
        const table = be.upload(bits.subarray(0, 65533), [5041, 13], dtype);
        const ids = be.upload(
          Int32Array.from({ length: 5041 }, (_, i) => i),
          [5041],
          'i32',
        );
        sameValues(await readF32(be.embedding(table, ids)), want.subarray(0, 65533), `embedding ${dtype}`);
        const v = be.upload(bits, [65536], dtype);
        sameValues(await readF32(be.cast(v, 'f32')), want, `cast ${dtype}`);
        const ones = be.upload(new Float32Array(65536).fill(1), [65536], 'f32');
        sameValues(await readF32(be.mul(ones, v)), want, `mul by ${dtype}`);
      }
    });

    it('matmul reads every finite f16 and bf16 value exactly (GEMV in registers and decoded, blocked)', async () => {
      for (const dtype of ['f16', 'bf16'] as const) {
        const bits = finitePatterns(dtype);
        const K = 64;
        const N = Math.floor(bits.length / K);
        const w = be.upload(bits.subarray(0, N * K), [N, K], dtype);
        const values = decodeHalf(bits.subarray(0, N * K), dtype);
        // One-hot rows of a pick one column of every weight row: exact whatever the summation order.
        for (const M of [1, 3, 9]) {
          const cols = Array.from({ length: M }, (_, i) => (i * 29 + M) % K);
          const a = new Float32Array(M * K);
          cols.forEach((c, i) => {
            a[i * K + c] = 1;
          });
          const got = await readF32(be.matmul(be.upload(a, [M, K], 'f32'), w, { transposeB: true }));
          const want = new Float32Array(M * N);
          for (let i = 0; i < M; i++) for (let n = 0; n < N; n++) want[i * N + n] = values[n * K + cols[i]!]!;
          sameValues(got, want, `${dtype} matmul M=${M}`);
        }
      }
    });

    it('GEMV over f16 weights with Inf and NaN, also written by scatterRows into a weight already read', async () => {
      const [K, N] = [19, 8];
      const t = be.upload(
        Float32Array.from({ length: N * K }, (_, i) => (i % 7) - 3),
        [N, K],
        'f16',
      );
      const a = be.upload(new Float32Array(K).fill(1), [1, K], 'f32');
      // The first GEMV finds the weight finite and decodes it without the Inf/NaN fix-up.
      expect((await readF32(be.matmul(a, t, { transposeB: true }))).every(Number.isFinite)).toBe(true);
      const src = new Float32Array(3 * K).fill(1);
      src[3] = Number.POSITIVE_INFINITY;
      src[K + 17] = Number.NaN;
      src[2 * K + 8] = Number.NEGATIVE_INFINITY;
      be.scatterRows(t, be.upload(Int32Array.from([2, 5, 7]), [3], 'i32'), be.upload(src, [3, K], 'f16'));
      const got = await readF32(be.matmul(a, t, { transposeB: true }));
      expect([got[2], got[5], got[7]]).toEqual([
        Number.POSITIVE_INFINITY,
        Number.NaN,
        Number.NEGATIVE_INFINITY,
      ]);
      expect([0, 1, 3, 4, 6].every((i) => Number.isFinite(got[i]!))).toBe(true);
    });

    it('cast to f16/bf16 rounds like core for random f32 bit patterns (subnormals, NaN, Inf)', async () => {
      const r = rng(3);
      const bits = Uint32Array.from({ length: 100_000 }, () => Math.floor(r.next() * 2 ** 32));
      const values = new Float32Array(bits.buffer);
      const t = be.upload(values, [values.length], 'f32');
      for (const to of ['f16', 'bf16'] as const) {
        sameValues(
          await readF32(be.cast(t, to)),
          decodeHalf(encodeHalf(values, to), to),
          `cast f32 -> ${to}`,
        );
      }
    });

    it('matmul at blocking edges: M across 4-row tiles and the GEMV limit, K tails, N across panels', async () => {
      const r = rng(4);
      for (const dtype of ['f32', 'f16', 'bf16'] as DType[]) {
        for (const transposeB of [true, false]) {
          for (const [M, K, N] of [
            [2, 13, 5],
            [4, 1, 33],
            [7, 9, 65],
            [8, 255, 31],
            [9, 257, 1],
            [12, 300, 64],
            [13, 7, 97],
          ] as const) {
            const a = r.array(M * K);
            const b = r.array(K * N);
            const tb = be.upload(b, transposeB ? [N, K] : [K, N], dtype);
            const got = await readF32(be.matmul(be.upload(a, [M, K], 'f32'), tb, { transposeB }));
            const want = await readF32(
              cpu.matmul(cpu.upload(a, [M, K], 'f32'), cpu.upload(b, tb.shape, dtype), { transposeB }),
            );
            expectClose(got, want, 2e-6 * K, 1e-5, `${dtype} ${transposeB ? 'bᵀ' : 'b'} ${M}x${K}x${N}`);
          }
        }
      }
      const empty = await readF32(
        be.matmul(be.zeros([3, 0], 'f32'), be.zeros([5, 0], 'f16'), { transposeB: true }),
      );
      expect(Array.from(empty)).toEqual(new Array(15).fill(0));
    });

    it('quantized matmul over several depth chunks (K = 640 and 768), GEMV and blocked', async () => {
      const r = rng(6);
      for (const [dtype, K] of [
        ['q8_0', 640],
        ['q4_0', 640],
        ['q6_k', 768],
        ['q4_k', 768],
      ] as const) {
        const N = 37;
        const bytes = randomQuantized(dtype, [N, K], seededRandom(K));
        const w = dequantize(dtype, bytes, [N, K]);
        const tw = be.upload(bytes, [N, K], dtype);
        for (const M of [1, 2, 5, 11]) {
          const a = r.array(M * K);
          const got = await readF32(be.matmul(be.upload(a, [M, K], 'f32'), tw, { transposeB: true }));
          expectClose(got, matmulRef(a, w, M, K, N, true), 2e-6 * K, 1e-5, `${dtype} ${M}x${K}x${N}`);
        }
      }
    });

    it('siluMul (e^x) stays within a few ulp over the whole f32 range, subnormal results and infinities included', async () => {
      const r = rng(7);
      const g = Float32Array.from([
        ...r.array(2000, -100, 100),
        ...r.array(200, -1e-3, 1e-3),
        -1e30,
        -104,
        -88.5,
        88.7,
        1e30,
        0,
        -0,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
      ]);
      const u = new Float32Array(g.length).fill(1);
      const got = await readF32(be.siluMul(be.upload(g, [g.length], 'f32'), be.upload(u, [u.length], 'f32')));
      const want = await readF32(
        cpu.siluMul(cpu.upload(g, [g.length], 'f32'), cpu.upload(u, [u.length], 'f32')),
      );
      expectClose(got, want, 1e-37, 5e-7, 'siluMul');
    });

    it('rope at positions up to a million matches the f64 reference', async () => {
      const r = rng(8);
      const [n, heads, d, half] = [6, 2, 20, 8];
      const x = r.array(n * heads * d);
      const pos = [0, 7, 40_000, 131_071, 500_000, 1_000_000];
      const freq = Float32Array.from({ length: half }, (_, i) => 1 / 10000 ** ((2 * i) / 16));
      for (const style of ['half', 'interleaved'] as const) {
        const run = (b: Backend) =>
          b.rope(
            b.upload(x, [n, heads, d], 'f32'),
            b.upload(pos, [n], 'i32'),
            b.upload(freq, [half], 'f32'),
            style,
          );
        expectClose(await readF32(run(be)), await readF32(run(cpu)), 2e-5, 2e-5, `rope ${style}`);
      }
    });

    it('attentionMass and attentionColumnSums over 70,000 keys take their queries in chunks', async () => {
      const r = rng(9);
      const [L, d, Hkv, G, n] = [70_000, 4, 1, 2, 4];
      const k = r.array(L * d, -2, 2);
      const q = r.array(n * G * d, -2, 2);
      const run = (b: Backend) => {
        const kv = {
          keys: b.upload(k, [L, d], 'f32'),
          values: b.upload(k, [L, d], 'f32'),
          positions: b.upload(
            Int32Array.from({ length: L }, (_, i) => i),
            [L],
            'i32',
          ),
          offsets: b.upload([0], [Hkv], 'i32'),
          lengths: b.upload([L], [Hkv], 'i32'),
        };
        const qp = b.upload(
          Int32Array.from({ length: n }, (_, i) => L - 1 - 3 * i),
          [n],
          'i32',
        );
        const mass = b.attentionMass(b.upload(q, [n, G * Hkv, d], 'f32'), kv, qp);
        const cols = b.attentionColumnSums(b.upload(q, [G, n, d], 'f32'), kv.keys.reshape([Hkv, L, d]));
        return Promise.all([readF32(mass), readF32(cols)]);
      };
      const [[mass, cols], [massRef, colsRef]] = [await run(be), await run(cpu)];
      expectClose(mass, massRef, 2e-5 * n * G, 1e-4, 'attentionMass');
      expectClose(cols, colsRef, 2e-5 * n, 1e-4, 'attentionColumnSums');
    });

    it('keeps tensors intact while the memory grows, and liveBytes exact through it', async () => {
      const before = be.liveBytes();
      const memory = be.memoryBytes();
      const first = rng(10).array(1000);
      const t = be.upload(first, [1000], 'f32');
      const big = be.zeros([40 * 1024 * 1024], 'u32'); // 160 MiB: the memory must grow
      expect(be.memoryBytes()).toBeGreaterThan(memory);
      expect(Array.from(await readF32(t))).toEqual(Array.from(first));
      expect(be.liveBytes() - before).toBe(4000 + 160 * 2 ** 20);
      big.dispose();
      t.dispose();
      expect(be.liveBytes()).toBe(before);
    });
  });
}

describe('wasm backend: options, ownership, destroy', () => {
  it('takes threads and the memory kind as options, and refuses bad ones', async () => {
    const be = await createWasmBackend({ threads: 4 });
    expect(be.name).toBe('wasm');
    expect(be.requestedThreads).toBe(4);
    expect(be.threads).toBe(4); // the calling thread and 3 pool workers
    expect(be.variant).toBe('mt'); // Node has SharedArrayBuffer
    be.destroy();
    expect((await createWasmBackend({ sharedMemory: false })).variant).toBe('st');
    await expect(createWasmBackend({ threads: 0 })).rejects.toThrow(OptionError);
    await expect(createWasmBackend({ threads: 1.5 })).rejects.toThrow(
      /threads must be a positive integer, got 1.5/,
    );
  });

  it("refuses another backend's tensors, and every use after destroy", async () => {
    const be = await createWasmBackend();
    const other = await createWasmBackend();
    const x = be.upload([1, 2], [2], 'f32', 'x');
    expect(() => other.scale(x, 2)).toThrow(TensorStateError);
    expect(() => other.scale(x, 2)).toThrow(/tensor 'x' belongs to backend 'wasm', not this wasm backend/);
    expect(() => be.scale(new CpuBackend().upload([1], [1], 'f32', 'c'), 2)).toThrow(
      /belongs to backend 'cpu'/,
    );
    be.destroy();
    expect(() => be.scale(x, 2)).toThrow(/this wasm backend was destroyed/);
    expect(() => be.zeros([2], 'f32')).toThrow(TensorStateError);
    await expect(x.read()).rejects.toThrow(/this wasm backend was destroyed/);
    x.dispose(); // releasing after destroy is allowed and does nothing
    other.destroy();
  });

  it('a module built without quant.c refuses quantized weights by name', () => {
    expect(() => typeCode('q4_k', false, 'matmul: w')).toThrow(
      /matmul: w: this build of @kvsieve\/kernels-wasm has no quantized-weight kernels/,
    );
    expect(typeCode('q4_k', true, 'matmul: w')).toBe(12);
    expect(typeCode('bf16', false, 'x')).toBe(30);
  });
});
