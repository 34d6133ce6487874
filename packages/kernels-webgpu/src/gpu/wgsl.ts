import { type DType, isQuantDType } from '@kvsieve/core';
import { quantLoader } from './quant-wgsl.js';

/**
 * How a kernel sees a tensor: its dtype, or 'f16n' for f16 read natively as WGSL `f16` (adapters
 * with `shader-f16`). Values are converted to f32 on load either way, so results are identical.
 * Quantized dtypes are bound as their block bytes and dequantized on load.
 */
export type ElemKind = DType | 'f16n';

/** The WGSL element type a tensor is bound as (packed 16-bit floats: two per u32; quantized blocks: bytes in u32s). */
export function wgslElem(dtype: ElemKind): 'f32' | 'i32' | 'u32' | 'f16' {
  if (dtype === 'f16n') return 'f16';
  if (dtype === 'f32') return 'f32';
  if (dtype === 'i32') return 'i32';
  return 'u32';
}

// Bit-exact conversions, written with integer ops so that no driver rounding mode or denormal
// flushing can change them; they mirror core's f16/bf16 codecs.
export const HALF_CODECS = /* wgsl */ `
fn f16_to_f32(h: u32) -> f32 {
  // Branch-free: invocations run in SIMD lanes, where a branch costs both sides anyway.
  let sign = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  let normal = bitcast<f32>(sign | ((e + 112u) << 23u) | (m << 13u));
  let special = bitcast<f32>(sign | 0x7f800000u | (m << 13u));
  let mag = f32(m) * 5.9604644775390625e-8;
  let sub = select(mag, -mag, sign != 0u);
  return select(select(normal, special, e == 31u), sub, e == 0u);
}
fn bf16_to_f32(b: u32) -> f32 { return bitcast<f32>(b << 16u); }
fn f32_to_f16(v: f32) -> u32 {
  let x = bitcast<u32>(v);
  let sign = (x >> 16u) & 0x8000u;
  let exp = (x >> 23u) & 0xffu;
  let mant = x & 0x7fffffu;
  if (exp == 0xffu) { return select(sign | 0x7c00u, sign | 0x7e00u | (mant >> 13u), mant != 0u); }
  let e = i32(exp) - 127;
  if (e > 15) { return sign | 0x7c00u; }
  if (e >= -14) {
    var h = (u32(e + 15) << 10u) | (mant >> 13u);
    let rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u) == 1u)) { h = h + 1u; }
    return sign | h;
  }
  if (e < -25) { return sign; }
  let full = mant | 0x800000u;
  let shift = u32(-1 - e);
  var h = full >> shift;
  let rem = full & ((1u << shift) - 1u);
  let half = 1u << (shift - 1u);
  if (rem > half || (rem == half && (h & 1u) == 1u)) { h = h + 1u; }
  return sign | h;
}
fn f32_to_bf16(v: f32) -> u32 {
  let x = bitcast<u32>(v);
  if ((x & 0x7f800000u) == 0x7f800000u && (x & 0x7fffffu) != 0u) { return ((x >> 16u) | 0x40u) & 0xffffu; }
  let bias = 0x7fffu + ((x >> 16u) & 1u);
  return ((x + bias) >> 16u) & 0xffffu;
}
`;

/** `fn load_<name>(i: u32) -> f32`: element i of a float or quantized tensor of any storage dtype. */
export function floatLoader(name: string, dtype: ElemKind): string {
  if (isQuantDType(dtype)) return quantLoader(name, dtype);
  if (dtype === 'f32') return `fn load_${name}(i: u32) -> f32 { return ${name}[i]; }\n`;
  if (dtype === 'f16n') return `fn load_${name}(i: u32) -> f32 { return f32(${name}[i]); }\n`;
  const bits = `((${name}[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu)`;
  if (dtype === 'f16') return `fn load_${name}(i: u32) -> f32 { return f16_to_f32(${bits}); }\n`;
  if (dtype === 'bf16') return `fn load_${name}(i: u32) -> f32 { return bf16_to_f32(${bits}); }\n`;
  throw new Error(`floatLoader: ${dtype} is not a float dtype`);
}

/** The linear workgroup index when the grid was folded into x and y (see Batch.grid). */
export const WG_INDEX = 'let wg = wid.x + wid.y * nwg.x;';
export const BUILTINS =
  '@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32';

/**
 * Workgroup (256 threads) reductions through shared memory. Include once; call from uniform
 * control flow with every thread of the workgroup.
 */
export const WG_REDUCE = /* wgsl */ `
var<workgroup> red: array<f32, 256>;
fn wg_sum(v: f32, lid: u32) -> f32 {
  workgroupBarrier();
  red[lid] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  return red[0];
}
fn wg_max(v: f32, lid: u32) -> f32 {
  workgroupBarrier();
  red[lid] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  return red[0];
}
`;
