import type { Tensor } from '@kvsieve/core';
import { Params } from '../../gpu/context.js';
import type { OpEnv } from '../../gpu/storage.js';
import {
  BUILTINS,
  type ElemKind,
  enables,
  floatLoader,
  HALF_CODECS,
  storageDecl,
  WG_INDEX,
} from '../../gpu/wgsl.js';

// Elementwise ops over f32 `a`; `b` may be any float dtype and may broadcast over a's last dim.

const P = new Params([
  ['count', 'u32'],
  ['nb', 'u32'],
  ['factor', 'f32'],
] as const);

function source(expr: string, bDType: ElemKind | null) {
  const outBinding = bDType ? 2 : 1;
  return {
    key: `elementwise:${expr}:${bDType ?? '-'}`,
    code: () => `${enables(bDType)}${HALF_CODECS}${P.decl(outBinding + 1)}
${storageDecl(0, 'a', 'f32', 'read')}${bDType ? storageDecl(1, 'b', bDType, 'read') + floatLoader('b', bDType) : ''}
@group(0) @binding(${outBinding}) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  ${WG_INDEX}
  let i = wg * 256u + lid;
  if (i >= u.count) { return; }
  let x = a[i];
  ${bDType ? 'let y = load_b(i % u.nb);' : ''}
  out[i] = ${expr};
}`,
  };
}

function run(env: OpEnv, op: string, expr: string, a: Tensor, b: Tensor | null, factor: number): Tensor {
  const out = env.out(a.shape, 'f32', op);
  const batch = env.ctx.batch();
  const bindings = b
    ? [env.bind(a, op), env.bind(b, op), out.storage.binding]
    : [env.bind(a, op), out.storage.binding];
  const params = P.pack({ count: a.size, nb: b ? b.size : 1, factor });
  batch.dispatch(
    source(expr, b ? env.kind(b.dtype) : null),
    bindings,
    params,
    batch.grid(Math.ceil(a.size / 256)),
  );
  batch.submit();
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
