import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CpuBackend,
  DTypeError,
  dequantize,
  f32ToF16Bits,
  QUANT_DTYPES,
  QUANT_LAYOUTS,
  type QuantDType,
  quantLayoutOfGgmlType,
  randomQuantized,
  ShapeError,
  seededRandom,
} from '../src/index.js';

const cpu = new CpuBackend();

/** One block of `dtype` with the given byte fields (offset → bytes), zeros elsewhere. */
function block(dtype: QuantDType, fields: [number, number[]][]): Uint8Array {
  const b = new Uint8Array(QUANT_LAYOUTS[dtype].blockBytes);
  for (const [at, bytes] of fields) b.set(bytes, at);
  return b;
}
const f16 = (v: number) => {
  const h = f32ToF16Bits(v);
  return [h & 0xff, h >> 8];
};
const fill = (n: number, v: number) => new Array<number>(n).fill(v);
/** qs[j] = j | (15 − j) << 4: low nibbles 0…15, high nibbles 15…0. */
const ramp = Array.from({ length: 16 }, (_, j) => j | ((15 - j) << 4));

// Each case: a block built by hand and elements whose values were worked out by hand from ggml's
// dequantize_row_* formulas (ggml-quants.c); the comments show the arithmetic.
const HAND: Record<QuantDType, { bytes: Uint8Array; expect: [number, number][] }> = {
  q4_0: {
    bytes: block('q4_0', [
      [0, f16(0.5)],
      [2, ramp],
    ]),
    // (nibble − 8) · d
    expect: [
      [0, -4], // (0 − 8) · 0.5
      [5, -1.5], // (5 − 8) · 0.5
      [15, 3.5],
      [16, 3.5], // high nibble of qs[0] = 15
      [31, -4], // high nibble of qs[15] = 0
    ],
  },
  q4_1: {
    bytes: block('q4_1', [
      [0, f16(0.25)],
      [2, f16(-1)],
      [4, ramp],
    ]),
    // nibble · d + m
    expect: [
      [0, -1],
      [5, 0.25], // 5 · 0.25 − 1
      [16, 2.75], // 15 · 0.25 − 1
      [31, -1],
    ],
  },
  q5_0: {
    bytes: block('q5_0', [
      [0, f16(1)],
      [2, [0x01, 0, 0, 0x80]], // qh bits 0 and 31
      [6, ramp],
    ]),
    // (nibble | bit e of qh << 4) − 16, times d
    expect: [
      [0, 0], // 0 | 16 − 16
      [1, -15],
      [15, -1],
      [16, -1], // 15 − 16, bit 16 clear
      [31, 0], // 0 | 16 − 16
    ],
  },
  q5_1: {
    bytes: block('q5_1', [
      [0, f16(0.5)],
      [2, f16(2)],
      [4, [0x01, 0, 0, 0x80]],
      [8, ramp],
    ]),
    // q5 · d + m
    expect: [
      [0, 10], // 16 · 0.5 + 2
      [1, 2.5],
      [16, 9.5], // 15 · 0.5 + 2
      [31, 10],
    ],
  },
  q8_0: {
    bytes: block('q8_0', [
      [0, f16(0.125)],
      [2, Array.from({ length: 32 }, (_, j) => (j === 3 ? 0x80 : (j - 16) & 0xff))],
    ]),
    expect: [
      [0, -2], // −16 · 0.125
      [3, -16], // −128 · 0.125
      [16, 0],
      [31, 1.875], // 15 · 0.125
    ],
  },
  iq4_nl: {
    bytes: block('iq4_nl', [
      [0, f16(0.5)],
      [2, ramp],
    ]),
    // d · kvalues_iq4nl[nibble]
    expect: [
      [0, -63.5], // −127 · 0.5
      [8, 0.5], // level 8 = 1
      [15, 56.5], // 113 · 0.5
      [16, 56.5],
      [31, -63.5],
    ],
  },
  q2_k: {
    // scales[is] = ((is mod 15) + 1) | (is mod 4) << 4; every qs byte 0xE4 (2-bit fields 0,1,2,3)
    // except qs[37] = 0x1B (3,2,1,0); d = 0.5, dmin = 0.25.
    bytes: block('q2_k', [
      [0, Array.from({ length: 16 }, (_, is) => ((is % 15) + 1) | ((is % 4) << 4))],
      [16, fill(64, 0xe4)],
      [16 + 37, [0x1b]],
      [80, [...f16(0.5), ...f16(0.25)]],
    ]),
    // d·(sc & 15)·q − dmin·(sc >> 4); element e: half n, pass j (q = j here), sub-block is = 8n + 2j + (e mod 32 ≥ 16)
    expect: [
      [40, 1], // is 2: sc 3 | 2<<4: 0.5·3·1 − 0.25·2
      [127, 11.25], // is 7: sc 8 | 3<<4: 0.5·8·3 − 0.25·3
      [200, 13], // is 12: sc 13 | 0: 0.5·13·2
      [255, 0.75], // is 15: sc 1 | 3<<4: 0.5·1·3 − 0.75
      [133, 13.5], // is 8, qs[37] low bits 3: 0.5·9·3
    ],
  },
  q3_k: {
    // hmask all 0x0F (high bit set in the first half's four passes), qs all 0xE4, scale bytes 0–7
    // 0x21 and 8–11 0xE4, so s(i) = 1 | (i/4)<<4 for i < 8 and 2 | (i/4)<<4 after; d = 0.5.
    bytes: block('q3_k', [
      [0, fill(32, 0x0f)],
      [32, fill(64, 0xe4)],
      [96, [...fill(8, 0x21), ...fill(4, 0xe4)]],
      [108, f16(0.5)],
    ]),
    // d·(s − 32)·(q2 − (high bit ? 0 : 4))
    expect: [
      [40, -15.5], // is 2, s 1: 0.5·(−31)·1
      [127, -22.5], // is 7, s 17: 0.5·(−15)·3
      [200, -18], // is 12, s 50: 0.5·18·(2 − 4)
      [255, -9], // is 15, s 50: 9·(3 − 4)
      [150, -4], // is 9, s 34: 0.5·2·(0 − 4)
    ],
  },
  q4_k: {
    // get_scale_min_k4 over bytes [1,2,3,0x44, 5,6,7,0x88, 0x21,0x43,0x65,0x87]:
    // (sc, m) = (1,5) (2,6) (3,7) (4,8) (1,2) (3,4) (5,6) (23,40); qs all 0x5A but qs[1] = 0x0F.
    bytes: block('q4_k', [
      [0, [...f16(0.5), ...f16(0.25)]],
      [4, [1, 2, 3, 0x44, 5, 6, 7, 0x88, 0x21, 0x43, 0x65, 0x87]],
      [16, fill(128, 0x5a)],
      [17, [0x0f]],
    ]),
    // d·sc·q − dmin·m, sub-block 2c (low nibbles) and 2c + 1 (high) of chunk c = e/64
    expect: [
      [0, 3.75], // 0.5·1·10 − 0.25·5
      [1, 6.25], // 0.5·1·15 − 1.25
      [32, 3.5], // 0.5·2·5 − 0.25·6
      [33, -1.5], // 0.5·2·0 − 1.5
      [100, 8], // 0.5·4·5 − 0.25·8
      [130, 4.5], // 0.5·1·10 − 0.25·2
      [200, 23.5], // 0.5·5·10 − 0.25·6
      [255, 47.5], // 0.5·23·5 − 0.25·40
    ],
  },
  q5_k: {
    // As q4_k, with qh all 0b101: the fifth bit is set for sub-blocks 0 and 2.
    bytes: block('q5_k', [
      [0, [...f16(0.5), ...f16(0.25)]],
      [4, [1, 2, 3, 0x44, 5, 6, 7, 0x88, 0x21, 0x43, 0x65, 0x87]],
      [16, fill(32, 0b101)],
      [48, fill(128, 0x5a)],
    ]),
    expect: [
      [0, 11.75], // 0.5·1·(10 + 16) − 1.25
      [32, 3.5],
      [64, 37.25], // 0.5·3·26 − 0.25·7
      [100, 8],
      [255, 47.5],
    ],
  },
  q6_k: {
    // ql all 0x21, qh all 0xE4 (2-bit fields 0,1,2,3), scales[i] = i − 8, d = 0.25:
    // q = (1 | 0<<4) − 32 = −31, (1 | 1<<4) − 32 = −15, (2 | 2<<4) − 32 = 2, (2 | 3<<4) − 32 = 18 for g = 0..3.
    bytes: block('q6_k', [
      [0, fill(128, 0x21)],
      [128, fill(64, 0xe4)],
      [192, Array.from({ length: 16 }, (_, i) => (i - 8) & 0xff)],
      [208, f16(0.25)],
    ]),
    // d·scale·q, scale index 8n + l/16 + 2g
    expect: [
      [0, 62], // 0.25·(−8)·(−31)
      [40, 22.5], // 0.25·(−6)·(−15)
      [80, -1.5], // 0.25·(−3)·2
      [127, -4.5], // 0.25·(−1)·18
      [200, 2], // 0.25·4·2
      [255, 31.5], // 0.25·7·18
    ],
  },
  iq4_xs: {
    // scales_h 0xE4E4 and scales_l [0x21,0x43,0x65,0x87]: ls = 1, 18, 35, 52, 5, 22, 39, 56;
    // qs all 0xF8 (levels 1 low, 113 high); d = 0.5.
    bytes: block('iq4_xs', [
      [0, [...f16(0.5), 0xe4, 0xe4, 0x21, 0x43, 0x65, 0x87]],
      [8, fill(128, 0xf8)],
    ]),
    // d·(ls − 32)·level
    expect: [
      [0, -15.5], // 0.5·(1 − 32)·1
      [16, -1751.5], // −15.5·113
      [40, -7], // 0.5·(18 − 32)·1
      [80, 169.5], // 0.5·3·113
      [255, 1356], // 0.5·24·113
    ],
  },
};

describe('quantized dtypes: dequantize (the oracle)', () => {
  for (const dtype of QUANT_DTYPES) {
    it(`${dtype}: a hand-built block gives the values ggml's formula gives`, () => {
      const { bytes, expect: cases } = HAND[dtype];
      const n = QUANT_LAYOUTS[dtype].blockSize;
      const values = dequantize(dtype, bytes, [1, n]);
      for (const [i, v] of cases) expect(values[i], `${dtype} element ${i}`).toBe(v);
      // Two rows of the same block: a row range starts at its own blocks.
      const two = new Uint8Array(bytes.length * 2);
      two.set(bytes);
      two.set(bytes, bytes.length);
      expect(Array.from(dequantize(dtype, two, [2, n], 1, 1))).toEqual(Array.from(values));
    });
  }

  it('every ggml block size and byte count matches ggml-common.h', () => {
    const sizes = Object.fromEntries(QUANT_DTYPES.map((d) => [d, QUANT_LAYOUTS[d].blockBytes]));
    expect(sizes).toEqual({
      q4_0: 18,
      q4_1: 20,
      q5_0: 22,
      q5_1: 24,
      q8_0: 34,
      q2_k: 84,
      q3_k: 110,
      q4_k: 144,
      q5_k: 176,
      q6_k: 210,
      iq4_nl: 18,
      iq4_xs: 136,
    });
    expect(quantLayoutOfGgmlType(12)?.dtype).toBe('q4_k');
    expect(quantLayoutOfGgmlType(15)).toBeUndefined(); // Q8_K: only an intermediate in ggml
  });

  it('f32 rounding follows ggml: d·sc·q − dmin·m is rounded to f32 (Q4_K, a tiny dmin)', () => {
    // d = 1, dmin = 2^-24 (the smallest f16), sub-block 0 scale 63 and min 63, q = 15:
    // 1·63·15 − 2^-24·63 = 944.9999962… exactly, but 945 once rounded to f32 as ggml computes it.
    const bytes = block('q4_k', [
      [0, [...f16(1), 0x01, 0x00]],
      [4, [63, 0, 0, 0, 63, 0, 0, 0]],
      [16, fill(128, 0x0f)],
    ]);
    expect(dequantize('q4_k', bytes, [1, 256])[0]).toBe(945);
  });

  it('checks the shape and byte count', () => {
    expect(() => dequantize('q4_0', new Uint8Array(18), [1, 16])).toThrow(ShapeError);
    expect(() => dequantize('q4_0', new Uint8Array(18), [32])).toThrow(
      /a q4_0 tensor is a weight \[rows, cols\]/,
    );
    expect(() => dequantize('q4_0', new Uint8Array(17), [1, 32])).toThrow(/is 18 bytes, got 17/);
    expect(() => dequantize('q4_0', new Uint8Array(36), [2, 32], 1, 2)).toThrow(
      /rows \[1, 3\) are not inside/,
    );
  });
});

/** A plain f64 loop over the dequantized weight: out[i, j] = Σ_k x[i, k]·w[j, k]. */
function matmulRef(x: Float32Array, w: Float32Array, M: number, K: number, N: number): Float32Array {
  const out = new Float32Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += x[i * K + k]! * w[j * K + k]!;
      out[i * N + j] = acc;
    }
  return out;
}

describe('quantized tensors on the CPU backend', () => {
  for (const dtype of QUANT_DTYPES) {
    it(`${dtype}: matmul (transposeB) and embedding equal f64 loops over dequantize, random blocks`, async () => {
      const bs = QUANT_LAYOUTS[dtype].blockSize;
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 3 }),
          fc.integer({ min: 1, max: 3 }),
          fc.integer({ min: 1, max: 5 }),
          fc.integer({ min: 0, max: 2 ** 31 - 1 }),
          async (M, blocks, N, seed) => {
            const K = blocks * bs;
            const r = seededRandom(seed);
            const bytes = randomQuantized(dtype, [N, K], r, 0.5);
            const w = dequantize(dtype, bytes, [N, K]);
            for (const v of w) expect(Number.isFinite(v)).toBe(true);
            const x = Float32Array.from({ length: M * K }, () => r() * 2 - 1);
            const tw = cpu.upload(bytes, [N, K], dtype, 'w');
            const got = await cpu.matmul(cpu.upload(x, [M, K], 'f32'), tw, { transposeB: true }).readF32();
            expect(Array.from(got)).toEqual(Array.from(matmulRef(x, w, M, K, N)));
            const ids = [N - 1, 0, Math.floor(N / 2)];
            const rows = await cpu.embedding(tw, cpu.upload(ids, [3], 'i32')).readF32();
            expect(Array.from(rows)).toEqual(
              ids.flatMap((id) => Array.from(w.subarray(id * K, (id + 1) * K))),
            );
          },
        ),
        { numRuns: 15 },
      );
    });
  }

  it('upload keeps the block bytes (liveBytes), copies them, and read() dequantizes', async () => {
    const be = new CpuBackend();
    const bytes = randomQuantized('q4_k', [3, 512], seededRandom(1));
    const t = be.upload(bytes, [3, 512], 'q4_k', 'w');
    expect(be.liveBytes()).toBe(3 * 2 * 144);
    const want = Array.from(dequantize('q4_k', bytes, [3, 512]));
    bytes.fill(0);
    expect(Array.from(await t.readF32())).toEqual(want);
    // A Node Buffer's slice() is a view: the upload must still own its copy.
    const buf = Buffer.from(randomQuantized('q8_0', [1, 32], seededRandom(2)));
    const tb = be.upload(buf, [1, 32], 'q8_0');
    const before = Array.from(await tb.readF32());
    buf.fill(0);
    expect(Array.from(await tb.readF32())).toEqual(before);
    t.dispose();
    tb.dispose();
    expect(be.liveBytes()).toBe(0);
  });

  it('bad uploads: byte count, data type, shape', () => {
    expect(() => cpu.upload(new Uint8Array(143), [1, 256], 'q4_k', 'w')).toThrow(
      /upload w: a q4_k tensor \[1, 256\] is 144 bytes of blocks, got 143/,
    );
    expect(() => cpu.upload(new Float32Array(256), [1, 256], 'q4_k', 'w')).toThrow(DTypeError);
    expect(() => cpu.upload(new Uint8Array(144), [1, 128], 'q4_k', 'w')).toThrow(
      /q4_k rows are whole blocks of 256 elements, but shape \[1, 128\] has rows of 128/,
    );
    expect(() => cpu.upload(new Uint8Array(144), [256], 'q4_k', 'w')).toThrow(ShapeError);
    expect(() => cpu.upload(new Uint8Array(4), [1], 'f32', 'x')).toThrow(
      /a Uint8Array holds quantized block bytes/,
    );
    expect(() => cpu.zeros([1, 32], 'q4_0', 'z')).toThrow(/zeros z: q4_0 is a quantized weight format/);
  });

  it('every op but matmul (transposeB) and embedding refuses a quantized input with a DTypeError', () => {
    const w = cpu.upload(randomQuantized('q6_k', [2, 256], seededRandom(3)), [2, 256], 'q6_k', 'w');
    const x = cpu.upload(new Float32Array(2 * 256), [2, 256], 'f32', 'x');
    const refusals: [string, () => unknown][] = [
      ['add', () => cpu.add(x, w)],
      ['mul', () => cpu.mul(w, x)],
      ['scale', () => cpu.scale(w, 2)],
      ['softmax', () => cpu.softmax(w)],
      ['rmsnorm', () => cpu.rmsnorm(x, w.reshape([2, 256]), 1e-5)],
      ['gatherRows', () => cpu.gatherRows(w, cpu.upload([0], [1], 'i32'))],
      ['narrow', () => cpu.narrow(w, 0, 32)],
      ['reduceLast', () => cpu.reduceLast(w, 'sum')],
      ['topk', () => cpu.topk(w, 1)],
      ['cast', () => cpu.cast(w, 'f32')],
    ];
    for (const [op, run] of refusals) {
      expect(run, op).toThrow(DTypeError);
      expect(run, op).toThrow(new RegExp(`^${op}: w is q6_k, a quantized weight`));
    }
    expect(() => cpu.cast(x, 'q4_0' as never)).toThrow(DTypeError);
    expect(() => cpu.matmul(x.reshape([256, 2]), w)).toThrow(
      /matmul: w is a q6_k weight \[N, K\] \(rows of blocks along K\); multiply with \{ transposeB: true \}/,
    );
    expect(() => w.reshape([512])).toThrow(/quantized tensors keep their \[rows, cols\] shape/);
    expect(w.reshape([2, 256]).shape).toEqual([2, 256]);
  });
});
