import {
  bf16BitsToF32,
  dequantize,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
  QUANT_LAYOUTS,
  type QuantDType,
  randomQuantized,
  seededRandom,
} from '@kvsieve/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildQuantWasm, instantiateQuantWasm, type QuantWasm } from './build-test-wasm.mjs';

// The stored-weight row kernels (csrc/quant*.c) against core's dequantize, the oracle: decoding is
// bit for bit, dots (one row, four rows, one row against four vectors) are within the conformance
// tolerance of an f64 dot of the decoded row.

interface Format {
  readonly name: string;
  readonly id: number;
  readonly block: number;
  readonly blockBytes: number;
  readonly quant?: QuantDType;
}

const DENSE: readonly Format[] = [
  { name: 'f32', id: 0, block: 1, blockBytes: 4 },
  { name: 'f16', id: 1, block: 1, blockBytes: 2 },
  { name: 'bf16', id: 30, block: 1, blockBytes: 2 },
];
const FORMATS: readonly Format[] = [
  ...DENSE,
  ...Object.values(QUANT_LAYOUTS).map((l) => ({
    name: l.dtype,
    id: l.ggmlType,
    block: l.blockSize,
    blockBytes: l.blockBytes,
    quant: l.dtype,
  })),
];

/** One block, a few, SmolLM2's width (576) where it is whole blocks, and a 2048-wide row. */
function widths(f: Format): number[] {
  if (f.block === 1) return [1, 7, 16, 33, 576, 2051];
  return f.block === 32 ? [32, 96, 576, 2048] : [256, 768, 2048];
}

const ROWS = 6;

/**
 * Block edge cases, by pattern: 0 random; 1 zero scales (and mins); 2 f16 subnormal scale,
 * negative subnormal min; 3 negated scale and min; 4 every quant and sub-scale bit set; 5 every
 * quant and sub-scale bit clear.
 */
function applyEdge(bytes: Uint8Array, at: number, dtype: QuantDType, pattern: number): void {
  const { blockBytes, halfFields } = QUANT_LAYOUTS[dtype];
  const isHalf = (i: number) => halfFields.some((h) => i === h.offset || i === h.offset + 1);
  const put = (o: number, h: number) => {
    bytes[at + o] = h & 0xff;
    bytes[at + o + 1] = h >> 8;
  };
  if (pattern === 1) for (const h of halfFields) put(h.offset, 0);
  if (pattern === 2) halfFields.forEach((h, i) => put(h.offset, i === 0 ? 0x0155 : 0x8003));
  if (pattern === 3) for (const h of halfFields) bytes[at + h.offset + 1]! ^= 0x80;
  if (pattern === 4 || pattern === 5) {
    for (let i = 0; i < blockBytes; i++) if (!isHalf(i)) bytes[at + i] = pattern === 4 ? 0xff : 0;
  }
}

/** ROWS stored rows of `f` with k elements, and their exact values (the oracle's). */
function makeRows(f: Format, k: number, seed: number): { bytes: Uint8Array; values: Float32Array } {
  const rand = seededRandom(seed);
  if (f.quant) {
    const bytes = randomQuantized(f.quant, [ROWS, k], rand);
    const blocks = (ROWS * k) / f.block;
    for (let b = 0; b < blocks; b++) applyEdge(bytes, b * f.blockBytes, f.quant, (b + seed) % 6);
    return { bytes, values: dequantize(f.quant, bytes, [ROWS, k]) };
  }
  const values = new Float32Array(ROWS * k);
  // Mostly uniform values; every 11th a subnormal of the format or a signed zero.
  const edges = [f.name === 'f32' ? 1e-40 : f.name === 'f16' ? 3e-6 : 1e-39, -0, -2.5e-7];
  for (let i = 0; i < values.length; i++) values[i] = i % 11 === 5 ? edges[i % 3]! : 2 * rand() - 1;
  if (f.name === 'f32') return { bytes: new Uint8Array(values.buffer), values };
  const bits = Uint16Array.from(values, f.name === 'f16' ? f32ToF16Bits : f32ToBf16Bits);
  const decode = f.name === 'f16' ? f16BitsToF32 : bf16BitsToF32;
  return { bytes: new Uint8Array(bits.buffer), values: Float32Array.from(bits, decode) };
}

function randomX(k: number, seed: number): Float32Array {
  const rand = seededRandom(seed);
  return Float32Array.from({ length: k }, () => 2 * rand() - 1);
}

function dot64(values: Float32Array, row: number, k: number, x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < k; i++) s += values[row * k + i]! * x[i]!;
  return s;
}

function expectDot(got: number, want: number, k: number, what: string): void {
  const allowed = 2e-6 * k + 1e-5 * Math.abs(want);
  if (!(Math.abs(got - want) <= allowed)) {
    expect.fail(`${what}: got ${got}, f64 reference ${want} (|diff| ${Math.abs(got - want)} > ${allowed})`);
  }
}

/** Index of the first element whose f32 bits differ (NaNs match any NaN), or -1. */
function firstBitMismatch(got: Float32Array, want: Float32Array): number {
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < want.length; i++) {
    if (g[i] !== w[i] && !(Number.isNaN(got[i]!) && Number.isNaN(want[i]!))) return i;
  }
  return -1;
}

let wasm: QuantWasm;

beforeAll(async () => {
  wasm = await instantiateQuantWasm(buildQuantWasm());
});

/** Copies `bytes` into wasm memory at an odd address (no alignment may be assumed). */
function place(bytes: Uint8Array): number {
  const at = wasm.alloc(bytes.length + 1) + 1;
  new Uint8Array(wasm.memory.buffer, at, bytes.length).set(bytes);
  return at;
}

function placeF32(values: Float32Array): number {
  return place(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}

describe.each(FORMATS)('$name (ggml type $id)', (f) => {
  it('row bytes and block size', () => {
    const k = widths(f)[1]!;
    expect(wasm.exports.kv_type_block(f.id)).toBe(f.block);
    expect(wasm.exports.kv_row_bytes(f.id, k)).toBe((k / f.block) * f.blockBytes);
    if (f.block > 1) expect(wasm.exports.kv_row_bytes(f.id, f.block + 1)).toBe(-1);
  });

  for (const k of widths(f)) {
    it(`k=${k}: decode is the oracle bit for bit; dot, dot4 and dot_x4 within 2e-6·k + 1e-5 rel of f64`, () => {
      wasm.reset();
      const seed = k * 31 + f.id;
      const { bytes, values } = makeRows(f, k, seed);
      const rowBytes = bytes.length / ROWS;
      const x = randomX(k, seed + 1);
      const xp = placeF32(x);
      const rowsAt = place(bytes);
      const out = wasm.alloc(4 * k);
      for (let r = 0; r < ROWS; r++) {
        wasm.exports.kv_row_decode(f.id, rowsAt + r * rowBytes, out, k);
        const got = new Float32Array(wasm.memory.buffer, out, k).slice();
        const bad = firstBitMismatch(got, values.subarray(r * k, (r + 1) * k));
        if (bad >= 0) expect.fail(`row ${r} element ${bad}: got ${got[bad]}, oracle ${values[r * k + bad]}`);
        const d = wasm.exports.kv_row_dot(f.id, rowsAt + r * rowBytes, xp, k);
        expectDot(d, dot64(values, r, k, x), k, `dot row ${r}`);
      }

      // Four rows from each start, first contiguous, then re-laid at a padded odd stride.
      const padded = rowBytes + 7;
      const spread = new Uint8Array(ROWS * padded);
      for (let r = 0; r < ROWS; r++) spread.set(bytes.subarray(r * rowBytes, (r + 1) * rowBytes), r * padded);
      const spreadAt = place(spread);
      const out4 = wasm.alloc(16);
      for (const [at, stride] of [
        [rowsAt, rowBytes],
        [spreadAt, padded],
      ] as const) {
        for (let r0 = 0; r0 + 4 <= ROWS; r0++) {
          wasm.exports.kv_row_dot4(f.id, at + r0 * stride, stride, xp, k, out4);
          const got = new Float32Array(wasm.memory.buffer, out4, 4);
          for (let i = 0; i < 4; i++) {
            expectDot(
              got[i]!,
              dot64(values, r0 + i, k, x),
              k,
              `dot4 rows ${r0}.. stride ${stride}, row ${i}`,
            );
          }
        }
      }

      // Each row against four vectors k + 3 floats apart.
      const xs = [0, 1, 2, 3].map((j) => randomX(k, seed + 2 + j));
      const packed = new Float32Array(4 * (k + 3));
      xs.forEach((xj, j) => packed.set(xj, j * (k + 3)));
      const xsAt = placeF32(packed);
      for (let r = 0; r < ROWS; r++) {
        wasm.exports.kv_row_dot_x4(f.id, rowsAt + r * rowBytes, xsAt, k + 3, k, out4);
        const got = new Float32Array(wasm.memory.buffer, out4, 4);
        for (let j = 0; j < 4; j++)
          expectDot(got[j]!, dot64(values, r, k, xs[j]!), k, `dot_x4 row ${r}, x ${j}`);
      }
    });
  }
});

describe('dense special values', () => {
  it('f16 and bf16 decode every bit pattern exactly (±0, subnormals, ±Inf, NaN)', () => {
    wasm.reset();
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const at = place(new Uint8Array(all.buffer));
    const out = wasm.alloc(4 * 65536);
    for (const [id, decode] of [
      [1, f16BitsToF32],
      [30, bf16BitsToF32],
    ] as const) {
      wasm.exports.kv_row_decode(id, at, out, 65536);
      const got = new Float32Array(wasm.memory.buffer, out, 65536).slice();
      const bad = firstBitMismatch(got, Float32Array.from(all, decode));
      if (bad >= 0)
        expect.fail(`type ${id} bits 0x${bad.toString(16)}: got ${got[bad]}, want ${decode(bad)}`);
    }
  });
});

describe('arguments the kernels do not read', () => {
  it('unknown types give -1 bytes, block 0 and NaN results', () => {
    wasm.reset();
    const x = placeF32(new Float32Array(64));
    const out = wasm.alloc(64 * 4);
    for (const id of [4, 9, 15, 24, 39, -1]) {
      expect(wasm.exports.kv_type_block(id)).toBe(0);
      expect(wasm.exports.kv_row_bytes(id, 32)).toBe(-1);
      expect(wasm.exports.kv_row_dot(id, x, x, 32)).toBeNaN();
      wasm.exports.kv_row_dot4(id, x, 0, x, 32, out);
      expect([...new Float32Array(wasm.memory.buffer, out, 4)].every(Number.isNaN)).toBe(true);
      wasm.exports.kv_row_dot_x4(id, x, x, 0, 32, out);
      expect([...new Float32Array(wasm.memory.buffer, out, 4)].every(Number.isNaN)).toBe(true);
      wasm.exports.kv_row_decode(id, x, out, 32);
      expect([...new Float32Array(wasm.memory.buffer, out, 32)].every(Number.isNaN)).toBe(true);
    }
  });

  it('partial blocks and negative widths give -1 bytes', () => {
    expect(wasm.exports.kv_row_bytes(2, 48)).toBe(-1);
    expect(wasm.exports.kv_row_bytes(12, 512 + 32)).toBe(-1);
    expect(wasm.exports.kv_row_bytes(0, -4)).toBe(-1);
    expect(wasm.exports.kv_row_bytes(0, 0)).toBe(0);
    expect(wasm.exports.kv_row_bytes(23, 512)).toBe(272);
  });
});
