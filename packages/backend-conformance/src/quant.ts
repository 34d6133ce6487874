import {
  type Backend,
  DTypeError,
  dequantize,
  QUANT_DTYPES,
  QUANT_LAYOUTS,
  type QuantDType,
  randomQuantized,
  seededRandom,
} from '@kvsieve/core';
import { expect, it } from 'vitest';
import { matmulRef } from './reference.js';
import { expectClose, readF32, rng } from './util.js';

// Quantized weights against core's dequantize (ggml's reference formulas, the oracle): matmul with a
// transposed quantized b through the GEMV path (M ≤ 8: M = 1, 3, 8) and the tiled path (M = 9, 65),
// at sizes that cross the kernels' column groups and tiles, and embedding lookups. Tolerances as for
// f32 matmul (inputs in [-1, 1], weights within about ±1): 2e-6·K abs + 1e-5 rel; a dequantized
// element may differ from the oracle by an ulp where a GPU fuses its multiply-add, far inside that.

/** Shapes [M, blocks along K, N]: N = 300 crosses GEMV's 16-column workgroups, 70 the 64-wide tiles. */
const SHAPES: readonly [number, number, number][] = [
  [1, 1, 1],
  [1, 2, 300],
  [3, 1, 70],
  [8, 3, 17],
  [9, 1, 70],
  [65, 2, 33],
];

export function quantTests(get: () => Backend) {
  for (const dtype of QUANT_DTYPES) {
    it(`${dtype} weights: matmul (GEMV and tiled paths, transposeB) and embedding match dequantize`, async () => {
      const be = get();
      const bs = QUANT_LAYOUTS[dtype].blockSize;
      const r = rng(101);
      const seed = seededRandom(7 + QUANT_DTYPES.indexOf(dtype));
      for (const [M, blocks, N] of SHAPES) {
        const K = blocks * bs;
        const bytes = randomQuantized(dtype, [N, K], seed);
        const w = dequantize(dtype, bytes, [N, K]);
        const a = r.array(M * K);
        const ta = be.upload(a, [M, K], 'f32', 'a');
        const tw = be.upload(bytes, [N, K], dtype, 'w');
        const got = await readF32(be.matmul(ta, tw, { transposeB: true }));
        expectClose(got, matmulRef(a, w, M, K, N, true), 2e-6 * K, 1e-5, `${dtype} matmul ${M}x${K}x${N}`);
        ta.dispose();
        tw.dispose();
      }
      const vocab = 37;
      const K = 2 * bs;
      const bytes = randomQuantized(dtype, [vocab, K], seed);
      const table = dequantize(dtype, bytes, [vocab, K]);
      const ids = [0, 36, 5, 5, 17];
      const got = await readF32(
        be.embedding(be.upload(bytes, [vocab, K], dtype, 'table'), be.upload(ids, [ids.length], 'i32')),
      );
      const expected = ids.flatMap((id) => Array.from(table.subarray(id * K, (id + 1) * K)));
      expectClose(got, expected, 1e-6, 1e-6, `${dtype} embedding`);
    });
  }

  it('quantized uploads count their block bytes, read back dequantized, and are refused by other ops', async () => {
    const be = get();
    const dtype: QuantDType = 'q5_k';
    const bytes = randomQuantized(dtype, [3, 256], seededRandom(1));
    const before = be.liveBytes();
    const t = be.upload(bytes, [3, 256], dtype, 'w');
    expect(be.liveBytes() - before).toBe(3 * 176);
    expectClose(await readF32(t), dequantize(dtype, bytes, [3, 256]), 1e-6, 1e-6, 'read q5_k');
    const x = be.upload(new Float32Array(3 * 256), [3, 256], 'f32', 'x');
    expect(() => be.add(x, t)).toThrow(DTypeError);
    expect(() => be.add(x, t)).toThrow(/^add: w is q5_k, a quantized weight/);
    const row = be.upload([0], [1], 'i32');
    expect(() => be.gatherRows(t, row)).toThrow(/^gatherRows: w is q5_k/);
    expect(() => be.matmul(x.reshape([256, 3]), t)).toThrow(/multiply with \{ transposeB: true \}/);
    expect(() => be.upload(bytes.subarray(1), [3, 256], dtype, 'w')).toThrow(
      /is 528 bytes of blocks, got 527/,
    );
    for (const done of [t, x, row]) done.dispose();
    expect(be.liveBytes()).toBe(before);
  });
}
