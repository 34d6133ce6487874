import { IQ4_LEVELS, QUANT_LAYOUTS, type QuantDType } from '@kvsieve/core';

// Loaders for ggml's block-quantized weights, read straight from their packed bytes: the buffer is
// bound as array<u32> and addressed by byte, and `load_<name>(i)` dequantizes element i of the
// row-major [rows, cols] tensor (blocks never span rows, so element i is in block i / blockSize).
// Each formula is core's dequantize (ggml's dequantize_row_*) rewritten for one element; the
// conformance suite checks the two against each other for every format.

/** IQ4_NL/IQ4_XS levels, once per module (a private var, so a runtime index may read it). */
export const IQ4_TABLE = `var<private> IQ4_LEVELS: array<f32, 16> = array<f32, 16>(${IQ4_LEVELS.map((v) => `${v}.0`).join(', ')});\n`;

/** `<name>_u8(o)`, `<name>_u16(o)` (o even: ggml's f16 fields sit at even offsets) and `<name>_f16(o)`. */
function byteReaders(name: string): string {
  return `fn ${name}_u8(o: u32) -> u32 { return (${name}[o >> 2u] >> ((o & 3u) << 3u)) & 0xffu; }
fn ${name}_u16(o: u32) -> u32 { return (${name}[o >> 2u] >> ((o & 2u) << 3u)) & 0xffffu; }
fn ${name}_f16(o: u32) -> f32 { return f16_to_f32(${name}_u16(o)); }
`;
}

/** The body of `load_<name>(i)` per format, over the buffer's byte readers. */
function elementBody(dtype: QuantDType, name: string): string {
  const [u8, u16, f16] = [`${name}_u8`, `${name}_u16`, `${name}_f16`];
  const { blockSize, blockBytes } = QUANT_LAYOUTS[dtype];
  const head =
    blockSize === 32
      ? `let base = (i >> 5u) * ${blockBytes}u; let j = i & 31u;`
      : `let base = (i >> 8u) * ${blockBytes}u; let e = i & 255u;`;
  // Nibble j & 15 of a 16-byte run at `at`: low nibbles are elements 0–15, high ones 16–31.
  const nib32 = (at: string) => `((${u8}(base + ${at}u + (j & 15u)) >> ((j >> 4u) << 2u)) & 15u)`;
  switch (dtype) {
    case 'q4_0':
      return `${head}
  return f32(i32(${nib32('2')}) - 8) * ${f16}(base);`;
    case 'q4_1':
      return `${head}
  return f32(${nib32('4')}) * ${f16}(base) + ${f16}(base + 2u);`;
    case 'q5_0':
      return `${head}
  let hb = (${u8}(base + 2u + (j >> 3u)) >> (j & 7u)) & 1u;
  return f32(i32(${nib32('6')} | (hb << 4u)) - 16) * ${f16}(base);`;
    case 'q5_1':
      return `${head}
  let hb = (${u8}(base + 4u + (j >> 3u)) >> (j & 7u)) & 1u;
  return f32(${nib32('8')} | (hb << 4u)) * ${f16}(base) + ${f16}(base + 2u);`;
    case 'q8_0':
      return `${head}
  let q = bitcast<i32>(${u8}(base + 2u + j) << 24u) >> 24u;
  return f32(q) * ${f16}(base);`;
    case 'iq4_nl':
      return `${head}
  return ${f16}(base) * IQ4_LEVELS[${nib32('2')}];`;
    case 'q2_k':
      // Half n, pass p (two bits each), sub-block is = 8n + 2p + (second 16 of the 32).
      return `${head}
  let n = e >> 7u; let p = (e >> 5u) & 3u; let s = (e >> 4u) & 1u; let l = e & 15u;
  let sc = ${u8}(base + n * 8u + p * 2u + s);
  let q = (${u8}(base + 16u + n * 32u + s * 16u + l) >> (p * 2u)) & 3u;
  return ${f16}(base + 80u) * f32(sc & 15u) * f32(q) - ${f16}(base + 82u) * f32(sc >> 4u);`;
    case 'q3_k':
      return `${head}
  let n = e >> 7u; let p = (e >> 5u) & 3u; let s = (e >> 4u) & 1u; let l = e & 15u;
  let is = n * 8u + p * 2u + s;
  let low = (${u8}(base + 96u + (is & 7u)) >> ((is >> 3u) << 2u)) & 15u;
  let high = (${u8}(base + 104u + (is & 3u)) >> ((is >> 2u) << 1u)) & 3u;
  let q2 = (${u8}(base + 32u + n * 32u + s * 16u + l) >> (p * 2u)) & 3u;
  let hb = (${u8}(base + s * 16u + l) >> (n * 4u + p)) & 1u;
  let q = i32(q2) - select(4, 0, hb == 1u);
  return ${f16}(base + 108u) * f32(i32(low | (high << 4u)) - 32) * f32(q);`;
    case 'q4_k':
    case 'q5_k': {
      const qs = dtype === 'q4_k' ? 16 : 48;
      const fifth = dtype === 'q5_k' ? ` + (((${u8}(base + 16u + l) >> (c * 2u + h)) & 1u) << 4u)` : '';
      return `${head}
  let c = e >> 6u; let h = (e >> 5u) & 1u; let l = e & 31u;
  let sm = ${name}_k4(base + 4u, c * 2u + h);
  let q = ((${u8}(base + ${qs}u + c * 32u + l) >> (h << 2u)) & 15u)${fifth};
  return ${f16}(base) * f32(sm.x) * f32(q) - ${f16}(base + 2u) * f32(sm.y);`;
    }
    case 'q6_k':
      return `${head}
  let n = e >> 7u; let g = (e >> 5u) & 3u; let l = e & 31u;
  let lo = (${u8}(base + n * 64u + l + (g & 1u) * 32u) >> ((g >> 1u) << 2u)) & 15u;
  let hi = (${u8}(base + 128u + n * 32u + l) >> (g * 2u)) & 3u;
  let sc = bitcast<i32>(${u8}(base + 192u + n * 8u + (l >> 4u) + g * 2u) << 24u) >> 24u;
  return ${f16}(base + 208u) * f32(sc) * f32(i32(lo | (hi << 4u)) - 32);`;
    case 'iq4_xs':
      return `${head}
  let ib = e >> 5u; let h = (e >> 4u) & 1u; let jj = e & 15u;
  let ls = ((${u8}(base + 4u + (ib >> 1u)) >> ((ib & 1u) << 2u)) & 15u) | (((${u16}(base + 2u) >> (ib * 2u)) & 3u) << 4u);
  let q = (${u8}(base + 8u + ib * 16u + jj) >> (h << 2u)) & 15u;
  return ${f16}(base) * f32(i32(ls) - 32) * IQ4_LEVELS[q];`;
  }
}

/** Q4_K/Q5_K's 6-bit scale and min of sub-block j (ggml's get_scale_min_k4), from the 12 bytes at `at`. */
function k4Helper(name: string): string {
  return `fn ${name}_k4(at: u32, j: u32) -> vec2<u32> {
  if (j < 4u) { return vec2<u32>(${name}_u8(at + j) & 63u, ${name}_u8(at + j + 4u) & 63u); }
  let b = ${name}_u8(at + j + 4u);
  return vec2<u32>((b & 15u) | ((${name}_u8(at + j - 4u) >> 6u) << 4u), (b >> 4u) | ((${name}_u8(at + j) >> 6u) << 4u));
}
`;
}

/** `fn load_<name>(i: u32) -> f32` and its byte helpers, for a buffer of quantized blocks. */
export function quantLoader(name: string, dtype: QuantDType): string {
  const helpers = byteReaders(name) + (dtype === 'q4_k' || dtype === 'q5_k' ? k4Helper(name) : '');
  return `${helpers}fn load_${name}(i: u32) -> f32 {\n  ${elementBody(dtype, name)}\n}\n`;
}
