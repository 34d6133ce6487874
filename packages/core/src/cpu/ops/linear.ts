import type { Tensor } from '../../tensor/tensor.js';
import { floats, weightRows } from '../storage.js';

// Dot products accumulate in f64: this backend is the oracle, so it should be the more exact side.
// `b` is read one row at a time (weightRows), so a 16-bit or quantized weight is decoded row by row
// and never held as a whole f32 copy.

export function matmulCpu(
  a: Tensor,
  b: Tensor,
  M: number,
  K: number,
  N: number,
  transposeB: boolean,
): Float32Array {
  const x = floats(a);
  const out = new Float32Array(M * N);
  if (transposeB) {
    // b [N, K]: row j of b is output column j.
    const rowOf = weightRows(b, K);
    for (let j = 0; j < N; j++) {
      const w = rowOf(j);
      for (let i = 0; i < M; i++) {
        const row = i * K;
        let acc = 0;
        for (let k = 0; k < K; k++) acc += x[row + k]! * w[k]!;
        out[i * N + j] = acc;
      }
    }
    return out;
  }
  // b [K, N]: row k of b feeds every output column; each sum still runs over k in order.
  const rowOf = weightRows(b, N);
  const acc = new Float64Array(M * N);
  for (let k = 0; k < K; k++) {
    const w = rowOf(k);
    for (let i = 0; i < M; i++) {
      const xv = x[i * K + k]!;
      const o = i * N;
      for (let j = 0; j < N; j++) acc[o + j]! += xv * w[j]!;
    }
  }
  out.set(acc);
  return out;
}

export function binaryCpu(
  a: Tensor,
  b: Tensor,
  broadcast: boolean,
  f: (x: number, y: number) => number,
): Float32Array {
  const x = floats(a);
  const y = floats(b);
  const out = new Float32Array(x.length);
  const n = y.length;
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]!, y[broadcast ? i % n : i]!);
  return out;
}
