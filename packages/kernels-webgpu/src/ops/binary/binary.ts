import type { Tensor } from '@kvsieve/core';
import { input, kernel, output, Params } from '../../gpu/program.js';
import type { OpEnv } from '../../gpu/storage.js';
import type { ElemKind } from '../../gpu/wgsl.js';
import { BUILTINS, WG_INDEX } from '../../gpu/wgsl.js';

// Elementwise ops over f32 `a`; `b` may be any float dtype and may broadcast over a's last dim.

const P = new Params([
  ['count', 'u32'],
  ['nb', 'u32'],
  ['factor', 'f32'],
] as const);

const ELEMENTWISE = kernel({
  name: 'elementwise',
  params: P,
  buffers: (v: { expr: string; b: ElemKind | 'none' }) => [
    input('a', 'f32'),
    ...(v.b === 'none' ? [] : [input('b', v.b)]),
    output('out', 'f32'),
  ],
  body: (v) => `@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  ${WG_INDEX}
  let i = wg * 256u + lid;
  if (i >= u.count) { return; }
  let x = a[i];
  ${v.b === 'none' ? '' : 'let y = load_b(i % u.nb);'}
  out[i] = ${v.expr};
}`,
});

function run(env: OpEnv, op: string, expr: string, a: Tensor, b: Tensor | null, factor: number): Tensor {
  const out = env.out(a.shape, 'f32', op);
  const batch = env.ctx.batch();
  const buffers = { a: env.bind(a, op), out: out.storage.binding, ...(b ? { b: env.bind(b, op) } : {}) };
  batch.dispatch(
    ELEMENTWISE({ expr, b: b ? env.kind(b.dtype) : 'none' }),
    buffers,
    { count: a.size, nb: b ? b.size : 1, factor },
    batch.grid(Math.ceil(a.size / 256)),
  );
  batch.done();
  return out;
}

export function binaryGpu(env: OpEnv, op: 'add' | 'mul', a: Tensor, b: Tensor): Tensor {
  // Broadcast b holds a's last dim, a same-shaped b holds a's size: `i % nb` indexes both.
  return run(env, op, op === 'add' ? 'x + y' : 'x * y', a, b, 0);
}

export function siluMulGpu(env: OpEnv, gate: Tensor, up: Tensor): Tensor {
  return run(env, 'siluMul', 'x / (1.0 + exp(-x)) * y', gate, up, 0);
}

export function scaleGpu(env: OpEnv, a: Tensor, factor: number): Tensor {
  return run(env, 'scale', 'x * u.factor', a, null, factor);
}
