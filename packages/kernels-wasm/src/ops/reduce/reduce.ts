import type { ReduceOp, Tensor } from '@kvsieve/core';
import type { OpEnv } from '../../env.js';

// Reductions are cold (scores once per layer): plain loops over the memory, summing in f64 in
// index order exactly as the CPU reference does, so results are identical to it.

function combine(op: ReduceOp, v: Float32Array, start: number, step: number, count: number): number {
  if (op === 'max') {
    let m = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < count; i++) m = Math.max(m, v[start + i * step]!);
    return m;
  }
  let s = 0;
  for (let i = 0; i < count; i++) s += v[start + i * step]!;
  return op === 'mean' ? s / count : s;
}

/** `x [R, n]` reduced over consecutive groups of `groupSize` rows: `[R / groupSize, n]`. */
export function reduceGroupsWasm(
  env: OpEnv,
  x: Tensor,
  R: number,
  n: number,
  groupSize: number,
  op: ReduceOp,
): Tensor {
  const groups = R / groupSize;
  const out = env.out([groups, n], 'f32', 'reduceGroups');
  const v = env.views.f32(env.ptr(x, 'reduceGroups'), R * n);
  const o = env.views.f32(out.storage.ptr, groups * n);
  for (let g = 0; g < groups; g++) {
    for (let j = 0; j < n; j++) o[g * n + j] = combine(op, v, g * groupSize * n + j, n, groupSize);
  }
  return out;
}

/** `x [..., n]` reduced over its last dimension. */
export function reduceLastWasm(env: OpEnv, x: Tensor, rows: number, n: number, op: ReduceOp): Tensor {
  const out = env.out(x.shape.slice(0, -1), 'f32', 'reduceLast');
  const v = env.views.f32(env.ptr(x, 'reduceLast'), rows * n);
  const o = env.views.f32(out.storage.ptr, rows);
  for (let r = 0; r < rows; r++) o[r] = combine(op, v, r * n, 1, n);
  return out;
}
