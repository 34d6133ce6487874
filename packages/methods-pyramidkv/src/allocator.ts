import type { AllocationInput, Allocator } from '@kvsieve/core';

/** The line from `hi` (first layer) to `lo` (last) of prefix tokens, as KVCache-Factory computes it. */
function pyramidLine(base: number, length: number, window: number, beta: number): { lo: number; hi: number } {
  let lo = Math.floor(base / beta);
  let hi = 2 * base - lo;
  if (hi >= length - window) {
    hi = length - window;
    lo = 2 * base - hi;
  }
  return { lo, hi };
}

/**
 * PyramidKV's linear schedule, exactly as the reference computes it (integer step, so the mean
 * budget slightly overshoots the target). Prompts shorter than twice the prefix budget fall back
 * to a uniform budget.
 */
export function pyramidAllocator(beta: number): Allocator {
  return {
    name: 'pyramid',
    allocate({ layer, numLayers, kvHeads, length, capacity, window }: AllocationInput) {
      const base = capacity - window;
      if (length < 2 * base || numLayers === 1) return new Int32Array(kvHeads).fill(base);
      const { lo, hi } = pyramidLine(base, length, window, beta);
      const step = Math.floor((hi - lo) / (numLayers - 1));
      return new Int32Array(kvHeads).fill(hi - layer * step);
    },
  };
}

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
  const { lo, hi } = pyramidLine(base, length, window, beta);
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
export function exactPyramidAllocator(beta: number): Allocator {
  const reference = pyramidAllocator(beta);
  return {
    name: 'pyramid-exact',
    allocate(input) {
      const base = input.capacity - input.window;
      if (input.length < 2 * base || input.numLayers === 1) return reference.allocate(input);
      const cap = exactPyramidCaps(base, input.length, input.window, beta, input.numLayers)[input.layer]!;
      return new Int32Array(input.kvHeads).fill(cap);
    },
  };
}
