import type { PoolMode, ReduceOp } from '../../backend/backend.js';
import type { Tensor } from '../../tensor/tensor.js';
import { floats } from '../storage.js';

function combine(op: ReduceOp, values: (i: number) => number, count: number): number {
  if (op === 'max') {
    let m = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < count; i++) m = Math.max(m, values(i));
    return m;
  }
  let s = 0;
  for (let i = 0; i < count; i++) s += values(i);
  return op === 'mean' ? s / count : s;
}

export function reduceGroupsCpu(
  x: Tensor,
  R: number,
  n: number,
  groupSize: number,
  op: ReduceOp,
): Float32Array {
  const v = floats(x);
  const groups = R / groupSize;
  const out = new Float32Array(groups * n);
  for (let g = 0; g < groups; g++) {
    for (let j = 0; j < n; j++)
      out[g * n + j] = combine(op, (i) => v[(g * groupSize + i) * n + j]!, groupSize);
  }
  return out;
}

export function reduceLastCpu(x: Tensor, rows: number, n: number, op: ReduceOp): Float32Array {
  const v = floats(x);
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) out[r] = combine(op, (i) => v[r * n + i]!, n);
  return out;
}

/**
 * Stride-1 pooling with padding kernel//2. Average pooling divides by the full kernel (padded zeros
 * count, PyTorch's `count_include_pad=True`); max pooling ignores padding.
 */
export function pool1dCpu(x: Tensor, R: number, n: number, kernel: number, mode: PoolMode): Float32Array {
  const v = floats(x);
  const out = new Float32Array(R * n);
  const pad = Math.floor(kernel / 2);
  for (let r = 0; r < R; r++) {
    for (let i = 0; i < n; i++) {
      const lo = Math.max(0, i - pad);
      const hi = Math.min(n - 1, i + pad);
      let acc = mode === 'max' ? Number.NEGATIVE_INFINITY : 0;
      for (let j = lo; j <= hi; j++) {
        const e = v[r * n + j]!;
        acc = mode === 'max' ? Math.max(acc, e) : acc + e;
      }
      out[r * n + i] = mode === 'max' ? acc : acc / kernel;
    }
  }
  return out;
}

/** Score order used by every backend: larger first, NaN last, ties to the lower index. */
export function compareScores(scores: ArrayLike<number>, a: number, b: number): number {
  const x = scores[a]!;
  const y = scores[b]!;
  const xn = Number.isNaN(x);
  const yn = Number.isNaN(y);
  if (xn !== yn) return xn ? 1 : -1;
  if (!xn && x !== y) return y > x ? 1 : -1;
  return a - b;
}

export function topkCpu(x: Tensor, R: number, n: number, k: number): Int32Array {
  const v = floats(x);
  const out = new Int32Array(R * k);
  for (let r = 0; r < R; r++) {
    const row = v.subarray(r * n, (r + 1) * n);
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => compareScores(row, a, b));
    for (let i = 0; i < k; i++) out[r * k + i] = order[i]!;
  }
  return out;
}
