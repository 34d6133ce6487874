import type { DType } from '@kvsieve/core';

// Decode GEMV over a transposed weight (b [N, K]) in units of several elements: each unit's words
// are loaded once and its scale read once, instead of one element at a time through load_b (where
// a 16-bit weight costs a whole word per element and a Q4_K one about six word loads). Loads are
// what a GPU and a CPU rasterizer both pay for: lavapipe issues every non-uniform storage load as
// a scalar load per SIMD lane, so words loaded per weight set its GEMV speed.
//
// Units never span quantization blocks, and rows hold whole units (checked by the caller).

/** How a dtype's weights are read in units: elements per unit, how they are bound, and the reader. */
export interface GemvUnit {
  /** Elements per unit; a row must hold a whole number of units. */
  readonly size: number;
  /** The kind the weight is bound as: whole 16-byte vectors where units are 16-byte aligned. */
  readonly kind: 'vec4<f32>' | 'vec4<u32>' | 'u32';
  /** Functions the readers share (once per module, after {@link activationReader}'s). */
  readonly helpers: string;
  /**
   * `fn dot_<w>(row: u32, un: u32, x: u32) -> f32`: unit `un` of row `row` of the weight buffer
   * named `w` dotted with the activations from element x of the current row (read through x4).
   */
  dot(w: string): string;
}

/**
 * `fn x4(k) -> vec4<f32>`: activations k … k + 3 (k a multiple of 4) of the row of `a` that starts
 * at element `xrow` (a private the kernel sets before each row's dot products). With `norm`, they
 * come RMS-normalised on the fly: times `xs` (the row's 1/rms, also set by the kernel) and the norm
 * weight `g` (array<vec4<f32>>), so the normalised row is never written out.
 */
export function activationReader(norm: boolean): string {
  const read = norm ? 'a[(xrow + k) >> 2u] * xs * g[k >> 2u]' : 'a[(xrow + k) >> 2u]';
  return `var<private> xrow: u32;\n${norm ? 'var<private> xs: f32;\n' : ''}fn x4(k: u32) -> vec4<f32> { return ${read}; }\n`;
}

// Four signed bytes of a word as floats, lowest byte first.
const I8X4 = `fn i8x4(w: u32) -> vec4<f32> {
  return vec4<f32>(vec4<i32>(bitcast<i32>(w << 24u), bitcast<i32>(w << 16u), bitcast<i32>(w << 8u), bitcast<i32>(w)) >> vec4<u32>(24u));
}
`;

const F32: GemvUnit = {
  size: 8,
  kind: 'vec4<f32>',
  helpers: '',
  dot: (w) => `fn dot_${w}(row: u32, un: u32, x: u32) -> f32 {
  let o = (row * u.K + un * 8u) >> 2u;
  return dot(${w}[o], x4(x)) + dot(${w}[o + 1u], x4(x + 4u));
}
`,
};

// Eight halves per vector. unpack2x16float is the hardware conversion; a subnormal f16 weight
// that a driver flushes to zero moves a product by less than 6e-5 of its activation.
const F16: GemvUnit = {
  size: 8,
  kind: 'vec4<u32>',
  helpers: '',
  dot: (w) => `fn dot_${w}(row: u32, un: u32, x: u32) -> f32 {
  let q = ${w}[(row * u.K + un * 8u) >> 3u];
  let w0 = vec4<f32>(unpack2x16float(q.x), unpack2x16float(q.y));
  let w1 = vec4<f32>(unpack2x16float(q.z), unpack2x16float(q.w));
  return dot(w0, x4(x)) + dot(w1, x4(x + 4u));
}
`,
};

const BF16: GemvUnit = {
  size: 8,
  kind: 'vec4<u32>',
  helpers: `fn bf2(w: u32) -> vec2<f32> { return vec2<f32>(bitcast<f32>(w << 16u), bitcast<f32>(w & 0xffff0000u)); }
`,
  dot: (w) => `fn dot_${w}(row: u32, un: u32, x: u32) -> f32 {
  let q = ${w}[(row * u.K + un * 8u) >> 3u];
  return dot(vec4<f32>(bf2(q.x), bf2(q.y)), x4(x)) + dot(vec4<f32>(bf2(q.z), bf2(q.w)), x4(x + 4u));
}
`,
};

// One 34-byte block per unit: an f16 scale, then 32 signed bytes. Blocks sit at even offsets, so
// they are read as words, and the bytes after the scale start on a word or half-way into one.
const Q8_0: GemvUnit = {
  size: 32,
  kind: 'u32',
  helpers: I8X4,
  dot: (w) => `fn dot_${w}(row: u32, un: u32, x: u32) -> f32 {
  let base = (row * (u.K >> 5u) + un) * 34u;
  let d = unpack2x16float(${w}[base >> 2u] >> ((base & 2u) << 3u)).x;
  let q0 = (base + 2u) >> 2u;
  let odd = ((base + 2u) & 2u) != 0u;
  var prev = ${w}[q0];
  var s = 0.0;
  for (var t = 0u; t < 8u; t = t + 1u) {
    let next = ${w}[q0 + t + 1u];
    let w = select(prev, (prev >> 16u) | (next << 16u), odd);
    s = s + dot(i8x4(w), x4(x + 4u * t));
    prev = next;
  }
  return d * s;
}
`,
};

// One 32-element sub-block of a 144-byte (nine-vector) Q4_K block per unit: the first vector holds
// d, dmin and the twelve 6-bit scale/min bytes; the sub-block's nibbles are the low or high halves
// of the next vectors' 32 bytes (ggml's get_scale_min_k4 and dequantize_row_q4_K, for one sub-block).
const Q4_K: GemvUnit = {
  size: 32,
  kind: 'vec4<u32>',
  helpers: `fn nib4(w: u32) -> vec4<f32> { return vec4<f32>(vec4<u32>(w, w >> 8u, w >> 16u, w >> 24u) & vec4<u32>(15u)); }
`,
  dot: (w) => `fn dot_${w}(row: u32, un: u32, x: u32) -> f32 {
  let v = (row * (u.K >> 8u) + (un >> 3u)) * 9u;
  let j = un & 7u;
  let h = ${w}[v];
  let dm = unpack2x16float(h.x);
  var scale: u32;
  var mn: u32;
  if (j < 4u) {
    scale = (h.y >> (8u * j)) & 63u;
    mn = (h.z >> (8u * j)) & 63u;
  } else {
    let s = 8u * (j - 4u);
    let hi = (h.w >> s) & 255u;
    scale = (hi & 15u) | (((h.y >> (s + 6u)) & 3u) << 4u);
    mn = (hi >> 4u) | (((h.z >> (s + 6u)) & 3u) << 4u);
  }
  let sh = vec4<u32>((j & 1u) * 4u);
  let q0 = ${w}[v + 1u + (j >> 1u) * 2u] >> sh;
  let q1 = ${w}[v + 2u + (j >> 1u) * 2u] >> sh;
  let x0 = x4(x); let x1 = x4(x + 4u); let x2 = x4(x + 8u); let x3 = x4(x + 12u);
  let x4_ = x4(x + 16u); let x5 = x4(x + 20u); let x6 = x4(x + 24u); let x7 = x4(x + 28u);
  let sq = dot(nib4(q0.x), x0) + dot(nib4(q0.y), x1) + dot(nib4(q0.z), x2) + dot(nib4(q0.w), x3)
    + dot(nib4(q1.x), x4_) + dot(nib4(q1.y), x5) + dot(nib4(q1.z), x6) + dot(nib4(q1.w), x7);
  let sx = dot(x0 + x1 + x2 + x3 + x4_ + x5 + x6 + x7, vec4<f32>(1.0));
  return dm.x * f32(scale) * sq - dm.y * f32(mn) * sx;
}
`,
};

const UNITS: Partial<Record<DType, GemvUnit>> = { f32: F32, f16: F16, bf16: BF16, q8_0: Q8_0, q4_k: Q4_K };

/** The unit reader for weights of `dtype`, or null (read element by element); rows must hold whole units. */
export function gemvUnit(dtype: DType): GemvUnit | null {
  return UNITS[dtype] ?? null;
}
