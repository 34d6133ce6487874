import { OptionError } from '../errors.js';
import {
  type BlockDecoder,
  decodeIq4Nl,
  decodeQ4_0,
  decodeQ4_1,
  decodeQ5_0,
  decodeQ5_1,
  decodeQ8_0,
} from './dequantize-32.js';
import { decodeIq4Xs, decodeQ2K, decodeQ3K, decodeQ4K, decodeQ5K, decodeQ6K } from './dequantize-k.js';
import { f32ToF16Bits } from './dtype.js';
import { QUANT_LAYOUTS, type QuantDType, quantByteLength } from './quant.js';

const DECODERS: Readonly<Record<QuantDType, BlockDecoder>> = {
  q4_0: decodeQ4_0,
  q4_1: decodeQ4_1,
  q5_0: decodeQ5_0,
  q5_1: decodeQ5_1,
  q8_0: decodeQ8_0,
  q2_k: decodeQ2K,
  q3_k: decodeQ3K,
  q4_k: decodeQ4K,
  q5_k: decodeQ5K,
  q6_k: decodeQ6K,
  iq4_nl: decodeIq4Nl,
  iq4_xs: decodeIq4Xs,
};

/**
 * Row `row` of a quantized `[rows, cols]` tensor's block bytes, decoded into `out[0 .. cols)`:
 * block by block, with no copy of anything else. The CPU backend's matmul and embedding read
 * weights through this.
 */
export function dequantizeRow(
  dtype: QuantDType,
  bytes: Uint8Array,
  cols: number,
  row: number,
  out: Float32Array,
  outOffset = 0,
): void {
  const { blockSize, blockBytes } = QUANT_LAYOUTS[dtype];
  const decode = DECODERS[dtype];
  const blocks = cols / blockSize;
  const at = row * blocks * blockBytes;
  for (let b = 0; b < blocks; b++) decode(bytes, at + b * blockBytes, out, outOffset + b * blockSize);
}

/**
 * The exact f32 values of rows `[rowStart, rowStart + rowCount)` of a quantized `[rows, cols]`
 * tensor, as ggml's reference `dequantize_row_*` computes them: the oracle for every backend's
 * quantized reads. `rowCount` defaults to the rest of the tensor.
 */
export function dequantize(
  dtype: QuantDType,
  bytes: Uint8Array,
  shape: readonly number[],
  rowStart = 0,
  rowCount?: number,
): Float32Array {
  const need = quantByteLength(dtype, shape, 'dequantize');
  if (bytes.byteLength !== need) {
    throw new OptionError(
      `dequantize: a ${dtype} tensor [${shape.join(', ')}] is ${need} bytes, got ${bytes.byteLength}`,
    );
  }
  const [rows, cols] = shape as [number, number];
  const count = rowCount ?? rows - rowStart;
  if (
    !Number.isInteger(rowStart) ||
    !Number.isInteger(count) ||
    rowStart < 0 ||
    count < 0 ||
    rowStart + count > rows
  ) {
    throw new OptionError(`dequantize: rows [${rowStart}, ${rowStart + count}) are not inside [0, ${rows})`);
  }
  const out = new Float32Array(count * cols);
  for (let r = 0; r < count; r++) dequantizeRow(dtype, bytes, cols, rowStart + r, out, r * cols);
  return out;
}

/**
 * Per format: the largest |integer factor| an element's scale is multiplied by (so d = scale /
 * spread keeps elements within about ±scale), and the min field per unit of d that centres the
 * elements near zero on average (the mean of the sub-scale·q products over the mean sub-min).
 */
const RANDOM_SPREAD: Readonly<Record<QuantDType, { spread: number; centre?: number }>> = {
  q4_0: { spread: 8 },
  q4_1: { spread: 7.5, centre: -7.5 },
  q5_0: { spread: 16 },
  q5_1: { spread: 15.5, centre: -15.5 },
  q8_0: { spread: 128 },
  q2_k: { spread: 22.5, centre: 1.5 },
  q3_k: { spread: 128 },
  q4_k: { spread: 472, centre: 7.5 },
  q5_k: { spread: 976, centre: 15.5 },
  q6_k: { spread: 4064 },
  iq4_nl: { spread: 127 },
  iq4_xs: { spread: 4064 },
};

/**
 * Random block bytes for a `[rows, cols]` weight of `dtype` (tests, benchmarks, random models):
 * every quant, sub-scale and sub-min bit is random, as any bit pattern there is a valid weight;
 * the f16 scale of each block is drawn in [scale/2, scale]/spread so elements stay within about
 * ±`scale`, and mins are set to centre the elements near zero. `rand` gives uniform [0, 1).
 */
export function randomQuantized(
  dtype: QuantDType,
  shape: readonly number[],
  rand: () => number,
  scale = 1,
): Uint8Array {
  const bytes = new Uint8Array(quantByteLength(dtype, shape, 'randomQuantized'));
  for (let i = 0; i < bytes.length; i += 4) {
    const w = Math.floor(rand() * 2 ** 32);
    for (let k = 0; k < 4 && i + k < bytes.length; k++) bytes[i + k] = (w >>> (8 * k)) & 0xff;
  }
  const { blockBytes, halfFields } = QUANT_LAYOUTS[dtype];
  const { spread, centre } = RANDOM_SPREAD[dtype];
  const put = (at: number, v: number) => {
    const h = f32ToF16Bits(v);
    bytes[at] = h & 0xff;
    bytes[at + 1] = h >> 8;
  };
  for (let at = 0; at < bytes.length; at += blockBytes) {
    const d = ((0.5 + 0.5 * rand()) * scale) / spread;
    put(at + halfFields[0]!.offset, d);
    if (halfFields[1]) put(at + halfFields[1].offset, d * (centre ?? 0));
  }
  return bytes;
}
