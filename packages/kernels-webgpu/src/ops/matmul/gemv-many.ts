import type { DType, Tensor } from '@kvsieve/core';
import type { Batch, Binding } from '../../gpu/context.js';
import { type BufferDecl, input, kernel, output, Params } from '../../gpu/program.js';
import type { OpEnv } from '../../gpu/storage.js';
import { BUILTINS, WG_INDEX } from '../../gpu/wgsl.js';
import { activationReader, type GemvUnit, gemvUnit } from './gemv-units.js';

// Several decode GEMVs of one input in one dispatch: a layer's Q, K and V projections, or its gate
// and up projections. Each weight keeps its own buffer and output; the workgroups are dealt out to
// the weights in turn, so every workgroup reads rows of one weight only. On a fast GPU a small
// model's decode is bound by the host's cost per dispatch, which this saves two or one of per call.

/** Weights one dispatch can take (a layer's Q, K, V). */
const MANY_MAX = 3;

const MP = new Params([
  ['M', 'u32'],
  ['K', 'u32'],
  ['N0', 'u32'],
  ['N1', 'u32'],
  ['N2', 'u32'],
  // First workgroup of weights 1 and 2.
  ['W1', 'u32'],
  ['W2', 'u32'],
  ['eps', 'f32'],
] as const);

type ManyVariant = { b: DType; count: number; lanes: number; wg: number; norm: boolean; swiglu: boolean };

const names = (prefix: string, count: number) => Array.from({ length: count }, (_, t) => `${prefix}${t}`);

/**
 * `let r`: 1/rms of the row of `a` (rmsnorm's scale, before its weight). A CPU rasterizer's
 * invocation sums the row itself; on a GPU each invocation sums a strided part into `part` and then
 * reads all of them (a tree of barriers here made lavapipe's compiler take tens of seconds).
 */
function normPrologue(lanes: number, wg: number): string {
  const scale = (ss: string) => `let r = 1.0 / sqrt(${ss} / f32(u.K) + u.eps);`;
  if (lanes === 1) {
    return `  var ss = 0.0;
  for (var k = 0u; k < u.K / 4u; k = k + 1u) { let v = a[k]; ss = ss + dot(v, v); }
  ${scale('ss')}`;
  }
  return `  var ss = 0.0;
  for (var k = lid; k < u.K / 4u; k = k + ${wg}u) { let v = a[k]; ss = ss + dot(v, v); }
  part[lid] = ss;
  workgroupBarrier();
  var sum = 0.0;
  for (var t = 0u; t < ${wg}u; t = t + 1u) { sum = sum + part[t]; }
  ${scale('sum')}
  workgroupBarrier();`;
}

// The sum of a row's lanes (lanes > 1): `part` holds every lane's partial sum (`slot` rows of wg).
const laneSum = (v: string, slot: number, lanes: number, wg: number) =>
  `var ${v} = 0.0; for (var t = 0u; t < ${lanes}u; t = t + 1u) { ${v} = ${v} + part[${slot * wg}u + lid - lane + t]; }`;

const MANY = kernel({
  name: 'gemvMany',
  params: MP,
  buffers: (v: ManyVariant): BufferDecl[] => {
    const kind = (gemvUnit(v.b) as GemvUnit).kind;
    return [
      input('a', 'vec4<f32>'),
      ...(v.norm ? [input('g', 'vec4<f32>')] : []),
      ...names('b', v.count).map((n) => input(n, kind)),
      ...names('out', v.swiglu ? 1 : v.count).map((n) => output(n, 'f32')),
    ];
  },
  body: ({ b, count, lanes, wg, norm, swiglu }: ManyVariant) => {
    const unit = gemvUnit(b) as GemvUnit;
    const weights = Array.from({ length: count }, (_, t) => t);
    const dot = (t: number) => `dot_b${t}(jj, un, un * ${unit.size}u)`;
    const slots = swiglu ? 2 : 1;
    const decls = `${lanes > 1 ? `var<workgroup> part: array<f32, ${wg * slots}>;\n` : ''}${activationReader(norm)}${unit.helpers}${weights.map((t) => unit.dot(`b${t}`)).join('')}`;
    const head = `@compute @workgroup_size(${wg})
fn main(${BUILTINS}) {
  ${WG_INDEX}
  let lane = lid % ${lanes}u;
  xrow = 0u;`;
    const prologue = norm ? `${normPrologue(lanes, wg)}\n  xs = r;` : '';
    const loop = (body: string) =>
      `for (var un = lane; un < u.K / ${unit.size}u; un = un + ${lanes}u) { ${body} }`;
    if (swiglu) {
      // Rows j of gate and up in the same invocations: the product is silu(gate) · up (siluMul's formula).
      const sums =
        lanes === 1
          ? 'let sg = accg; let su = accu;'
          : `part[lid] = accg; part[${wg}u + lid] = accu;
  workgroupBarrier();
  ${laneSum('sg', 0, lanes, wg)}
  ${laneSum('su', 1, lanes, wg)}`;
      return `${decls}${head}
  let j = wg * ${wg / lanes}u + lid / ${lanes}u;
  let jj = min(j, u.N0 - 1u);
${prologue}
  var accg = 0.0; var accu = 0.0;
  ${loop(`accg = accg + ${dot(0)}; accu = accu + ${dot(1)};`)}
  ${sums}
  if (lane == 0u && j < u.N0) { out0[j] = sg / (1.0 + exp(-sg)) * su; }
}`;
    }
    // Which weight: uniform per workgroup, so each branch below is taken by whole workgroups.
    const loops = weights
      .map((t) => `if (sel == ${t}u) { ${loop(`acc = acc + ${dot(t)};`)} }`)
      .join(' else ');
    const store = weights.map((t) => `if (sel == ${t}u) { out${t}[j] = s; }`).join(' else ');
    const sum =
      lanes === 1
        ? 'let s = acc;'
        : `part[lid] = acc;\n  workgroupBarrier();\n  ${laneSum('s', 0, lanes, wg)}`;
    return `${decls}${head}
  var sel = 0u;
  var g = wg;
  if (wg >= u.W2) { sel = 2u; g = wg - u.W2; } else if (wg >= u.W1) { sel = 1u; g = wg - u.W1; }
  let n = select(select(u.N0, u.N1, sel == 1u), u.N2, sel == 2u);
  let j = g * ${wg / lanes}u + lid / ${lanes}u;
  let jj = min(j, n - 1u);
${prologue}
  var acc = 0.0;
  ${loops}
  ${sum}
  if (lane == 0u && j < n) { ${store} }
}`;
  },
});

/**
 * Whether {@link gemvMany} can take `a · bᵢᵀ` over every weight of `bs` (with the input norm's
 * weight `norm`) in one dispatch: one row of `a`, weights of one dtype read in units, each in one
 * binding, at most three, an f32 norm weight. Checked before any output is allocated.
 */
export function manyFits(
  env: OpEnv,
  bs: readonly Tensor[],
  d: { M: number; K: number },
  norm?: Tensor,
): boolean {
  const dtype = bs[0]!.dtype;
  const unit = gemvUnit(dtype);
  // One row of a only (decode): with more rows each weight's reader would be unrolled per row,
  // and lavapipe's compiler then takes tens of seconds per variant.
  if (d.M !== 1 || bs.length > MANY_MAX || !unit || d.K % unit.size !== 0) return false;
  if (norm && norm.dtype !== 'f32') return false;
  return bs.every((b) => b.dtype === dtype && env.parts(b, 'matmul').length === 1);
}

/**
 * One dispatch for a decode step's `a · bᵢᵀ` over every weight of `bs` (with `swiglu`: the one
 * product silu(a · b₀ᵀ) · (a · b₁ᵀ)), for weights {@link manyFits} accepted.
 */
export function gemvMany(
  env: OpEnv,
  batch: Batch,
  a: Binding,
  bs: readonly Tensor[],
  d: { M: number; K: number },
  outs: readonly Binding[],
  opts: { norm?: { g: Binding; eps: number }; swiglu?: boolean } = {},
): void {
  const dtype = bs[0]!.dtype;
  const { norm, swiglu = false } = opts;
  const [lanes, wg] = env.ctx.cpuRasterizer ? [1, 64] : [16, 256];
  const perGroup = wg / lanes;
  const N = bs.map((b) => b.shape[0]!);
  const groups = N.map((n) => Math.ceil(n / perGroup));
  const buffers: Record<string, Binding> = norm ? { a, g: norm.g } : { a };
  bs.forEach((b, t) => {
    buffers[`b${t}`] = env.parts(b, 'matmul')[0]!.binding;
  });
  outs.forEach((o, t) => {
    buffers[`out${t}`] = o;
  });
  const W1 = groups[0]!;
  const W2 = W1 + (groups[1] ?? 0);
  const total = swiglu ? W1 : W2 + (groups[2] ?? 0);
  batch.dispatch(
    MANY({ b: dtype, count: bs.length, lanes, wg, norm: norm !== undefined, swiglu }),
    buffers,
    {
      M: d.M,
      K: d.K,
      N0: N[0]!,
      N1: N[1] ?? 0,
      N2: N[2] ?? 0,
      W1: bs.length > 1 ? W1 : total,
      W2: bs.length > 2 ? W2 : total,
      eps: norm?.eps ?? 0,
    },
    batch.grid(total),
  );
}
