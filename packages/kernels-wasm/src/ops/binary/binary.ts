import type { Tensor } from '@kvsieve/core';
import type { OpEnv } from '../../env.js';

/** Elements per unit of same-shape elementwise work (a worker's share is a run of these). */
const RUN = 4096;

/** `a + b` or `a · b`; b the same shape as a or a vector over a's last dimension (bias), f32/f16/bf16. */
export function binaryWasm(env: OpEnv, op: 'add' | 'mul', a: Tensor, b: Tensor, broadcast: boolean): Tensor {
  const out = env.out(a.shape, 'f32', op);
  const total = a.size;
  if (total === 0) return out;
  // Broadcast: units are a's rows (b starts over for each); else runs of RUN elements.
  const n = broadcast ? b.size : Math.min(RUN, total);
  env.run(
    'kv_binary',
    [
      env.ptr(a, op),
      env.ptr(b, op),
      env.type(b, op),
      out.storage.ptr,
      total,
      n,
      broadcast ? 1 : 0,
      op === 'add' ? 0 : 1,
    ],
    Math.ceil(total / n),
    0,
    n,
  );
  return out;
}

/** `a · factor` (rounded once from f64, as the CPU reference). Units: elements. */
export function scaleWasm(env: OpEnv, a: Tensor, factor: number): Tensor {
  const out = env.out(a.shape, 'f32', 'scale');
  env.run('kv_scale', [env.ptr(a, 'scale'), out.storage.ptr, factor], a.size, 0, 1);
  return out;
}

/** `silu(gate) · up`. Units: elements. */
export function siluMulWasm(env: OpEnv, gate: Tensor, up: Tensor): Tensor {
  const out = env.out(gate.shape, 'f32', 'siluMul');
  // An exp per element: a few times the cost of an add.
  env.run(
    'kv_silu_mul',
    [env.ptr(gate, 'siluMul'), env.ptr(up, 'siluMul'), out.storage.ptr],
    gate.size,
    0,
    4,
  );
  return out;
}
