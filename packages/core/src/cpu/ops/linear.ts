import type { Tensor } from '../../tensor/tensor.js';
import { floats } from '../storage.js';

// Dot products accumulate in f64: this backend is the oracle, so it should be the more exact side.

export function matmulCpu(
  a: Tensor,
  b: Tensor,
  M: number,
  K: number,
  N: number,
  transposeB: boolean,
): Float32Array {
  const x = floats(a);
  const w = floats(b);
  const out = new Float32Array(M * N);
  for (let i = 0; i < M; i++) {
    const row = i * K;
    for (let j = 0; j < N; j++) {
      let acc = 0;
      if (transposeB) {
        const col = j * K;
        for (let k = 0; k < K; k++) acc += x[row + k]! * w[col + k]!;
      } else {
        for (let k = 0; k < K; k++) acc += x[row + k]! * w[k * N + j]!;
      }
      out[i * N + j] = acc;
    }
  }
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
