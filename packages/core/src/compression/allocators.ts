import { OptionError } from '../errors.js';
import { type Budget, describeBudget, resolveBudget, validateBudget } from './budget.js';
import type { LayerBudget } from './select.js';

/** What an allocator plans from: one layer of one prompt. */
export interface AllocationInput {
  readonly layer: number;
  readonly numLayers: number;
  readonly kvHeads: number;
  /** Tokens the layer holds. */
  readonly length: number;
}

/** Decides how many prefix tokens each KV head of a layer keeps (the window is kept on top). */
export interface Allocator {
  readonly name: string;
  readonly window: number;
  /** Throws an OptionError when the budget cannot serve a prompt of this length. */
  check(length: number): void;
  allocate(input: AllocationInput): LayerBudget;
}

export interface WindowBudgetOptions {
  /** Tokens kept per KV head, window included. */
  readonly budget: Budget;
  /** Observation window: the last `window` prompt tokens, always kept. */
  readonly window: number;
}

export function validateWindowBudget(opts: WindowBudgetOptions, where: string): void {
  validateBudget(opts.budget, `${where}: budget`);
  if (!Number.isInteger(opts.window) || opts.window < 1) {
    throw new OptionError(`${where}: window must be a positive integer, got ${opts.window}`);
  }
  const b = opts.budget;
  const tokens = typeof b === 'number' ? b : 'tokens' in b ? b.tokens : undefined;
  if (tokens !== undefined && opts.window >= tokens) {
    throw new OptionError(
      `${where}: window (${opts.window}) must be smaller than the budget (${tokens} tokens); lower the window or raise the budget`,
    );
  }
}

function checkCapacity(opts: WindowBudgetOptions, length: number, where: string): number {
  const capacity = resolveBudget(opts.budget, length);
  if (capacity <= opts.window && length > capacity) {
    throw new OptionError(
      `${where}: ${describeBudget(opts.budget)} gives ${capacity} tokens for a ${length}-token prompt, not more than the window (${opts.window}); raise the budget or lower the window`,
    );
  }
  return capacity;
}

/** The same budget for every layer and head (SnapKV). Prompts within the budget are kept whole. */
export function uniformAllocator(opts: WindowBudgetOptions): Allocator {
  validateWindowBudget(opts, 'uniformAllocator');
  return {
    name: 'uniform',
    window: opts.window,
    check: (length) => void checkCapacity(opts, length, 'uniformAllocator'),
    allocate({ kvHeads, length }) {
      const capacity = checkCapacity(opts, length, 'uniformAllocator');
      if (length <= capacity) return null;
      return new Int32Array(kvHeads).fill(capacity - opts.window);
    },
  };
}

export interface PyramidOptions extends WindowBudgetOptions {
  /** Ratio of the top layer's budget to the bottom's, as PyramidKV's `beta` (default 20). */
  readonly beta?: number;
}

/**
 * PyramidKV's linear schedule, exactly as the reference computes it (integer step, so the mean
 * budget slightly overshoots the target). Prompts shorter than twice the prefix budget fall back
 * to a uniform budget.
 */
export function pyramidAllocator(opts: PyramidOptions): Allocator {
  validateWindowBudget(opts, 'pyramidAllocator');
  const beta = opts.beta ?? 20;
  if (!Number.isInteger(beta) || beta < 1)
    throw new OptionError(`pyramidAllocator: beta must be a positive integer, got ${beta}`);
  return {
    name: 'pyramid',
    window: opts.window,
    check: (length) => void checkCapacity(opts, length, 'pyramidAllocator'),
    allocate({ layer, numLayers, kvHeads, length }) {
      const capacity = checkCapacity(opts, length, 'pyramidAllocator');
      if (length < capacity) return null;
      const base = capacity - opts.window;
      if (length < 2 * base || numLayers === 1) return new Int32Array(kvHeads).fill(base);
      let lo = Math.floor(base / beta);
      let hi = 2 * base - lo;
      if (hi >= length - opts.window) {
        hi = length - opts.window;
        lo = 2 * base - hi;
      }
      const step = Math.floor((hi - lo) / (numLayers - 1));
      return new Int32Array(kvHeads).fill(hi - layer * step);
    },
  };
}
