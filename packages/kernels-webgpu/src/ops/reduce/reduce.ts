import type { ReduceOp, Tensor } from '@kvsieve/core';
import { input, kernel, output, Params } from '../../gpu/program.js';
import type { OpEnv } from '../../gpu/storage.js';
import { BUILTINS, WG_INDEX, WG_REDUCE } from '../../gpu/wgsl.js';

// -Inf comes in as a uniform: WGSL cannot spell it as a constant.
const P = new Params([
  ['rows', 'u32'],
  ['n', 'u32'],
  ['group', 'u32'],
  ['ninf', 'f32'],
] as const);
const NEG = 'u.ninf';
const BUFFERS = () => [input('x', 'f32'), output('out', 'f32')];

// reduceLast: one workgroup per row (rows can be long, e.g. scores over 128K keys).
const LAST = kernel({
  name: 'reduceLast',
  params: P,
  buffers: BUFFERS,
  body: ({ op }: { op: ReduceOp }) => {
    const combine = op === 'max' ? 'max(acc, v)' : 'acc + v';
    const final = op === 'max' ? 'wg_max(acc, lid)' : 'wg_sum(acc, lid)';
    return `${WG_REDUCE}
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  ${WG_INDEX}
  if (wg >= u.rows) { return; }
  var acc = ${op === 'max' ? NEG : '0.0'};
  for (var i = lid; i < u.n; i = i + 256u) { let v = x[wg * u.n + i]; acc = ${combine}; }
  let r = ${final};
  if (lid == 0u) { out[wg] = ${op === 'mean' ? 'r / f32(u.n)' : 'r'}; }
}`;
  },
});

// reduceGroups: one thread per output element; groups are small (GQA ratio, heads).
const GROUPS = kernel({
  name: 'reduceGroups',
  params: P,
  buffers: BUFFERS,
  body: ({ op }: { op: ReduceOp }) => {
    const combine = op === 'max' ? 'max(acc, v)' : 'acc + v';
    return `@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  ${WG_INDEX}
  let o = wg * 256u + lid;
  if (o >= u.rows * u.n) { return; }
  let g = o / u.n;
  let j = o % u.n;
  var acc = ${op === 'max' ? NEG : '0.0'};
  for (var i = 0u; i < u.group; i = i + 1u) { let v = x[(g * u.group + i) * u.n + j]; acc = ${combine}; }
  out[o] = ${op === 'mean' ? 'acc / f32(u.group)' : 'acc'};
}`;
  },
});

export function reduceLastGpu(env: OpEnv, x: Tensor, rows: number, n: number, op: ReduceOp): Tensor {
  const out = env.out(x.shape.slice(0, -1), 'f32', 'reduceLast');
  const batch = env.ctx.batch();
  batch.dispatch(
    LAST({ op }),
    { x: env.bind(x, 'reduceLast'), out: out.storage.binding },
    { rows, n, group: 1, ninf: Number.NEGATIVE_INFINITY },
    batch.grid(rows),
  );
  batch.done();
  return out;
}

export function reduceGroupsGpu(
  env: OpEnv,
  x: Tensor,
  R: number,
  n: number,
  groupSize: number,
  op: ReduceOp,
): Tensor {
  const groups = R / groupSize;
  const out = env.out([groups, n], 'f32', 'reduceGroups');
  const batch = env.ctx.batch();
  batch.dispatch(
    GROUPS({ op }),
    { x: env.bind(x, 'reduceGroups'), out: out.storage.binding },
    { rows: groups, n, group: groupSize, ninf: Number.NEGATIVE_INFINITY },
    batch.grid(Math.ceil((groups * n) / 256)),
  );
  batch.done();
  return out;
}
