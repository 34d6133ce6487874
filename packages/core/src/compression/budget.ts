import { OptionError } from '../errors.js';
import { showValue } from './read.js';

/** A per-KV-head token budget (window included): a token count, or a fraction of the prompt. */
export type Budget =
  | number
  | {
      /** Tokens per KV head: a whole number ≥ 1 (the same as a plain number). */
      readonly tokens: number;
    }
  | {
      /** Fraction of the prompt's length, in (0, 1]; resolved per prompt, rounded, at least 1 token. */
      readonly ratio: number;
    };

const BUDGET_FORMS = 'a whole number of tokens ≥ 1, { tokens: n } or { ratio: r } with 0 < r ≤ 1';

/**
 * The one reader of budgets: `n`, `{ tokens: n }` (n ≥ 1, whole) or `{ ratio: r }` (0 < r ≤ 1).
 * Messages name the method (`where`) and the option (`name`, default "budget").
 */
export function readBudget(where: string, value: unknown, name = 'budget'): Budget {
  if (value === undefined) throw new OptionError(`${where}: option "${name}" is required (${BUDGET_FORMS})`);
  let tokens: unknown;
  if (typeof value === 'number') tokens = value;
  else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === 'tokens') tokens = (value as { tokens: unknown }).tokens;
    else if (keys.length === 1 && keys[0] === 'ratio') {
      const ratio = (value as { ratio: unknown }).ratio;
      if (typeof ratio !== 'number' || !(ratio > 0 && ratio <= 1)) {
        throw new OptionError(`${where}: option "${name}.ratio" must be in (0, 1], got ${showValue(ratio)}`);
      }
      return { ratio };
    } else
      throw new OptionError(`${where}: option "${name}" must be ${BUDGET_FORMS}, got ${showValue(value)}`);
  } else throw new OptionError(`${where}: option "${name}" must be ${BUDGET_FORMS}, got ${showValue(value)}`);
  if (typeof tokens !== 'number' || !Number.isInteger(tokens) || tokens < 1) {
    throw new OptionError(`${where}: option "${name}" must be ${BUDGET_FORMS}, got ${showValue(value)}`);
  }
  return typeof value === 'number' ? tokens : { tokens };
}

/** The budget in tokens when it is given in tokens; undefined for a ratio (known only per prompt). */
export function budgetTokens(budget: Budget): number | undefined {
  if (typeof budget === 'number') return budget;
  return 'tokens' in budget ? budget.tokens : undefined;
}

/** Tokens per KV head for a prompt of `length` tokens: ratios round to nearest, never below 1. */
export function resolveBudget(budget: Budget, length: number): number {
  const tokens = budgetTokens(budget);
  if (tokens !== undefined) return tokens;
  return Math.max(1, Math.round((budget as { ratio: number }).ratio * length));
}

/** A budget in words for notes and reports: `"64 tokens"` or `"25% of the prompt"`. */
export function describeBudget(budget: Budget): string {
  const tokens = budgetTokens(budget);
  return tokens !== undefined
    ? `${tokens} tokens`
    : `${(budget as { ratio: number }).ratio * 100}% of the prompt`;
}

/**
 * The budget-vs-window rule, stated once for every method. A method keeps `reserved` positions
 * it never scores (the observation window, or StreamingLLM's sinks) inside each head's budget, so
 * a budget that compresses must leave room for at least one scored token:
 *
 * - a window the user gave, against a budget in tokens that does not exceed it: refused (nothing
 *   about the prompt can make that work);
 * - a default window that does not fit a budget in tokens, or any window against a ratio budget
 *   that resolves to no more than it for a short prompt: halved to fit (`⌊capacity / 2⌋`, at least
 *   `min`), and said so in a note, so that `--budget 50%` works on any prompt.
 */
export interface ReservedRule {
  /** The method, for messages. */
  readonly where: string;
  /** The option's name: "window" or "sinks". */
  readonly name: string;
  /** Smallest value the method works with (1 for a window it reads queries from, 0 for sinks). */
  readonly min: number;
}

/** Up front, for a budget in tokens: the reserved count to use (the given one, or a fitted default). */
export function fitReservedToBudget(
  rule: ReservedRule,
  budget: Budget,
  reserved: number,
  given: boolean,
): number {
  const tokens = budgetTokens(budget);
  if (tokens === undefined || reserved < tokens) return reserved;
  if (given) {
    throw new OptionError(
      `${rule.where}: option "${rule.name}" must be an integer ≥ ${rule.min} and ≤ ${tokens - 1} (smaller than the budget of ${tokens} tokens), got ${reserved}`,
    );
  }
  return Math.max(rule.min, Math.floor(tokens / 2));
}

/** How one prompt (or one layer's tokens) fits a budget. */
export interface PromptFit {
  /** Tokens per KV head the budget gives for this length. */
  readonly capacity: number;
  /** Whether anything is evicted (the length exceeds the capacity). */
  readonly compresses: boolean;
  /** The reserved count to use for this length (shrunk when it does not fit). */
  readonly reserved: number;
  /** Why the reserved count was shrunk, for the stats. */
  readonly note?: string;
}

/** Per prompt: the capacity a budget gives `length` tokens, and the reserved count that fits it. */
export function fitPrompt(rule: ReservedRule, budget: Budget, reserved: number, length: number): PromptFit {
  if (!Number.isInteger(length) || length < 1) {
    throw new OptionError(`${rule.where}: prompt length must be a positive integer, got ${length}`);
  }
  const capacity = resolveBudget(budget, length);
  const compresses = length > capacity;
  if (!compresses || reserved < capacity) return { capacity, compresses, reserved };
  const fitted = Math.max(rule.min, Math.floor(capacity / 2));
  return {
    capacity,
    compresses,
    reserved: fitted,
    note: `${rule.name} ${reserved} shrunk to ${fitted} to fit the budget (${describeBudget(budget)}: ${capacity} of ${length} tokens)`,
  };
}
