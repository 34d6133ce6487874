import { OptionError } from '../errors.js';

/** A per-KV-head token budget (window included): a token count, or a fraction of the prompt. */
export type Budget = number | { readonly tokens: number } | { readonly ratio: number };

export function validateBudget(budget: Budget, name = 'budget'): void {
  const tokens = typeof budget === 'number' ? budget : 'tokens' in budget ? budget.tokens : undefined;
  if (tokens !== undefined) {
    if (!Number.isInteger(tokens) || tokens < 1) {
      throw new OptionError(`${name} must be a positive whole number of tokens, got ${tokens}`);
    }
    return;
  }
  const ratio = (budget as { ratio: number }).ratio;
  if (typeof ratio !== 'number' || !(ratio > 0 && ratio <= 1)) {
    throw new OptionError(`${name}.ratio must be in (0, 1], got ${ratio}`);
  }
}

/** Tokens per KV head for a prompt of `length` tokens: ratios round to nearest, never below 1. */
export function resolveBudget(budget: Budget, length: number): number {
  validateBudget(budget);
  if (typeof budget === 'number') return budget;
  if ('tokens' in budget) return budget.tokens;
  return Math.max(1, Math.round(budget.ratio * length));
}

export function describeBudget(budget: Budget): string {
  if (typeof budget === 'number') return `${budget} tokens`;
  return 'tokens' in budget ? `${budget.tokens} tokens` : `${budget.ratio * 100}% of the prompt`;
}
