import type { RopeStyle } from '../../backend/backend.js';
import type { Tensor } from '../../tensor/tensor.js';
import { floats, ints } from '../storage.js';

export function rmsnormCpu(x: Tensor, weight: Tensor, eps: number, rows: number, D: number): Float32Array {
  const v = floats(x);
  const g = floats(weight);
  const out = new Float32Array(v.length);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let i = 0; i < D; i++) ss += v[r * D + i]! ** 2;
    const inv = 1 / Math.sqrt(ss / D + eps);
    for (let i = 0; i < D; i++) out[r * D + i] = v[r * D + i]! * inv * g[i]!;
  }
  return out;
}

export function ropeCpu(
  x: Tensor,
  positions: Tensor,
  invFreq: Tensor,
  style: RopeStyle,
  dims: { n: number; heads: number; dim: number; half: number },
): Float32Array {
  const v = floats(x);
  const pos = ints(positions);
  const freq = floats(invFreq);
  const out = Float32Array.from(v);
  const { n, heads, dim, half } = dims;
  for (let t = 0; t < n; t++) {
    for (let i = 0; i < half; i++) {
      // The angle is rounded to f32 as GPU kernels and llama.cpp compute it.
      const angle = Math.fround(pos[t]! * freq[i]!);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      for (let h = 0; h < heads; h++) {
        const base = (t * heads + h) * dim;
        const i0 = base + (style === 'half' ? i : 2 * i);
        const i1 = base + (style === 'half' ? i + half : 2 * i + 1);
        const x0 = v[i0]!;
        const x1 = v[i1]!;
        out[i0] = x0 * c - x1 * s;
        out[i1] = x1 * c + x0 * s;
      }
    }
  }
  return out;
}

export function siluMulCpu(gate: Tensor, up: Tensor): Float32Array {
  const g = floats(gate);
  const u = floats(up);
  const out = new Float32Array(g.length);
  for (let i = 0; i < g.length; i++) out[i] = (g[i]! / (1 + Math.exp(-g[i]!))) * u[i]!;
  return out;
}

/** Softmax of `n`-long rows, in place on a copy; masked entries are -Infinity. */
export function softmaxRows(v: Float32Array | Float64Array, rows: number, n: number): void {
  for (let r = 0; r < rows; r++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) max = Math.max(max, v[r * n + i]!);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const e = max === Number.NEGATIVE_INFINITY ? 0 : Math.exp(v[r * n + i]! - max);
      v[r * n + i] = e;
      sum += e;
    }
    for (let i = 0; i < n; i++) v[r * n + i] = sum > 0 ? v[r * n + i]! / sum : 0;
  }
}
