import { type Allocator, type PyramidOptions, pyramidAllocator, resolveBudget } from '@kvsieve/core';

/**
 * Prefix tokens per layer for PyramidKV's line from `hi` (first layer) to `lo` (last), rounded so
 * that the layers sum to exactly `N · base`: each layer gets the floor of its real value and the
 * remainder goes to the layers with the largest fractional parts (lower layer first on ties).
 */
export function exactPyramidCaps(
  base: number,
  length: number,
  window: number,
  beta: number,
  numLayers: number,
): Int32Array {
  let lo = Math.floor(base / beta);
  let hi = 2 * base - lo;
  if (hi >= length - window) {
    hi = length - window;
    lo = 2 * base - hi;
  }
  const real = Array.from({ length: numLayers }, (_, l) => hi - (l * (hi - lo)) / (numLayers - 1));
  const caps = Int32Array.from(real, Math.floor);
  let left = numLayers * base - caps.reduce((a, b) => a + b, 0);
  const order = real
    .map((r, l) => ({ l, frac: r - Math.floor(r) }))
    .sort((a, b) => b.frac - a.frac || a.l - b.l);
  for (const { l } of order) {
    if (left <= 0) break;
    caps[l]! += 1;
    left--;
  }
  return caps;
}

/**
 * PyramidKV's schedule with the total budget hit exactly (the reference's integer step overshoots
 * it slightly). Everything else, the fallbacks for short prompts included, is the reference's.
 */
export function exactPyramidAllocator(opts: PyramidOptions): Allocator {
  const reference = pyramidAllocator(opts);
  const beta = opts.beta ?? 20;
  return {
    name: 'pyramid-exact',
    window: opts.window,
    check: reference.check,
    allocate(input) {
      const budgets = reference.allocate(input);
      const base = resolveBudget(opts.budget, input.length) - opts.window;
      if (budgets === null || input.length < 2 * base || input.numLayers === 1) return budgets;
      const cap = exactPyramidCaps(base, input.length, opts.window, beta, input.numLayers)[input.layer]!;
      return new Int32Array(input.kvHeads).fill(cap);
    },
  };
}
