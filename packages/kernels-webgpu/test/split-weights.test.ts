import { expectClose, readF32, rng } from '@kvsieve/backend-conformance';
import { CpuBackend, dequantize, randomQuantized, seededRandom } from '@kvsieve/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BindingLimitError, createWebGpuBackend, type WebGpuBackend } from '../src/index.js';

// A 2-D weight over the binding limit (a 128K-vocabulary embedding on lavapipe's 128 MiB bindings)
// is kept in row ranges. Here the limit is lowered to 16 KiB so small weights split into several
// (while the activations and outputs of these cases still fit one binding).
describe('weights larger than one binding', () => {
  let small: WebGpuBackend;
  const cpu = new CpuBackend();
  beforeAll(async () => {
    small = await createWebGpuBackend({ maxTensorBytes: 16384 });
  });
  afterAll(() => small.destroy());

  const cases: ['q4_0' | 'q6_k' | 'f16' | 'f32', number, number][] = [
    ['q4_0', 300, 128], // 72-byte rows: 227 rows per range, two ranges
    ['q6_k', 200, 256], // 210-byte rows: 78 per range, three ranges
    ['f16', 300, 50], // 100-byte rows: 163 per range, two ranges
    ['f32', 100, 60], // 240-byte rows: 68 per range, two ranges
  ];
  for (const [dtype, rows, cols] of cases) {
    it(`${dtype} [${rows}, ${cols}]: split by rows; matmul (GEMV, tiled) and embedding equal the CPU`, async () => {
      const r = rng(3);
      const data =
        dtype === 'f16' || dtype === 'f32'
          ? r.array(rows * cols)
          : randomQuantized(dtype, [rows, cols], seededRandom(rows));
      const before = small.liveBytes();
      const w = small.upload(data, [rows, cols], dtype, 'big');
      const wc = cpu.upload(data, [rows, cols], dtype, 'big');
      expect(small.liveBytes() - before).toBe(wc.storage.byteLength);
      for (const M of [1, 9]) {
        const a = r.array(M * cols);
        const got = await readF32(small.matmul(small.upload(a, [M, cols], 'f32'), w, { transposeB: true }));
        const want = await readF32(cpu.matmul(cpu.upload(a, [M, cols], 'f32'), wc, { transposeB: true }));
        expectClose(got, want, 2e-6 * cols, 1e-5, `${dtype} matmul M=${M}`);
      }
      const ids = [0, rows - 1, Math.floor(rows / 2), 1, rows - 2];
      const got = await readF32(small.embedding(w, small.upload(ids, [ids.length], 'i32')));
      const want = await readF32(cpu.embedding(wc, cpu.upload(ids, [ids.length], 'i32')));
      expectClose(got, want, 1e-6, 1e-6, `${dtype} embedding`);
      expectClose(await readF32(w), await readF32(wc), 1e-6, 1e-6, `${dtype} read`);
      // Every other use names the weight and says which ops read it (quantized weights are
      // refused earlier, for their dtype).
      if (dtype === 'f16' || dtype === 'f32') {
        const one = small.upload([0], [1], 'i32');
        expect(() => small.gatherRows(w, one)).toThrow(BindingLimitError);
        expect(() => small.gatherRows(w, one)).toThrow(
          /gatherRows: big \[\d+, \d+\] f\d+ is \d+ bytes, more than one binding may hold on this device \(16384\), so it is kept in \d row ranges; only matmul/,
        );
        expect(() => small.matmul(small.upload(r.array(rows), [1, rows], 'f32'), w)).toThrow(
          /big is larger than one binding and kept in row ranges; such a weight is read as \[N, K\] with \{ transposeB: true \}/,
        );
      }
      w.dispose();
      wc.dispose();
    });
  }

  it('the quantized bytes are what liveBytes counts, and a split weight frees every range', async () => {
    const bytes = randomQuantized('q4_k', [40, 256], seededRandom(1));
    const before = small.liveBytes();
    const w = small.upload(bytes, [40, 256], 'q4_k', 'w');
    expect(small.liveBytes() - before).toBe(40 * 144);
    expect(() => small.add(small.upload(new Float32Array(4), [4], 'f32'), w)).toThrow(
      /q4_k, a quantized weight/,
    );
    expectClose(await readF32(w), dequantize('q4_k', bytes, [40, 256]), 1e-6, 1e-6, 'read');
    w.dispose();
  });

  it('one row over the limit, or a 1-D tensor over it, is refused with the limit named', () => {
    expect(() => small.upload(new Float32Array(2 * 5000), [2, 5000], 'f32', 'wide')).toThrow(
      /wide: one row of \[2, 5000\] f32 is 20000 bytes, more than this device's binding limit of 16384 bytes/,
    );
    expect(() => small.upload(new Float32Array(5000), [5000], 'f32', 'flat')).toThrow(BindingLimitError);
  });
});
