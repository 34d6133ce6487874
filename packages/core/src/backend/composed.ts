import type { Tensor } from '../tensor/tensor.js';
import type { Backend, MatmulManyOptions } from './backend.js';

// What the fused ops mean, as the plain ops in sequence: the CPU and wasm backends run exactly
// this, and a GPU backend where its one-pass kernel cannot take the inputs. Inputs are validated
// by the caller.

/**
 * {@link Backend.matmulMany} as plain ops: `rmsnorm` of `a` when asked, then one transposed matmul
 * per weight.
 */
export function matmulManyComposed(
  b: Backend,
  a: Tensor,
  bs: readonly Tensor[],
  opts: MatmulManyOptions = {},
): Tensor[] {
  const norm = opts.rmsnorm;
  const x = norm ? b.rmsnorm(a, norm.weight, norm.eps) : a;
  const out = bs.map((w) => b.matmul(x, w, { transposeB: true }));
  if (x !== a) x.dispose();
  return out;
}

/** {@link Backend.swiglu} as plain ops: the two products through `b.matmulMany`, then `siluMul`. */
export function swigluComposed(
  b: Backend,
  a: Tensor,
  gate: Tensor,
  up: Tensor,
  opts: MatmulManyOptions = {},
): Tensor {
  const [g, u] = b.matmulMany(a, [gate, up], opts) as [Tensor, Tensor];
  const out = b.siluMul(g, u);
  g.dispose();
  u.dispose();
  return out;
}
