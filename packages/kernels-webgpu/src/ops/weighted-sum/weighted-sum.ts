import type { Tensor } from '@kvsieve/core';
import { Params } from '../../gpu/context.js';
import type { OpEnv } from '../../gpu/storage.js';
import { BUILTINS, storageDecl, WG_INDEX } from '../../gpu/wgsl.js';

// Inputs are summed in chunks of CHUNK per dispatch: the default WebGPU limit is 8 storage buffers
// per shader stage, and the output takes one.
const CHUNK = 6;
const P = new Params([
  ['count', 'u32'],
  ['first', 'u32'],
  ...Array.from({ length: CHUNK }, (_, i) => [`w${i}`, 'f32'] as const),
] as const);

function source(inputs: number) {
  return {
    key: `weightedSum:${inputs}`,
    code: () => `${P.decl(inputs + 1)}
${Array.from({ length: inputs }, (_, i) => storageDecl(i, `x${i}`, 'f32', 'read')).join('')}
@group(0) @binding(${inputs}) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  ${WG_INDEX}
  let i = wg * 256u + lid;
  if (i >= u.count) { return; }
  var acc = select(out[i], 0.0, u.first == 1u);
  ${Array.from({ length: inputs }, (_, k) => `acc = acc + u.w${k} * x${k}[i];`).join('\n  ')}
  out[i] = acc;
}`,
  };
}

export function weightedSumGpu(env: OpEnv, xs: readonly Tensor[], weights: readonly number[]): Tensor {
  const first = xs[0]!;
  const out = env.out(first.shape, 'f32', 'weightedSum');
  const batch = env.ctx.batch();
  for (let start = 0; start < xs.length; start += CHUNK) {
    const part = xs.slice(start, start + CHUNK);
    const values: Record<string, number> = { count: first.size, first: start === 0 ? 1 : 0 };
    for (let k = 0; k < CHUNK; k++) values[`w${k}`] = weights[start + k] ?? 0;
    const bindings = [...part.map((x) => env.bind(x, 'weightedSum')), out.storage.binding];
    batch.dispatch(
      source(part.length),
      bindings,
      P.pack(values as never),
      batch.grid(Math.ceil(first.size / 256)),
    );
  }
  batch.submit();
  return out;
}
