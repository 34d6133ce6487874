import {
  type Budget,
  describeBudget,
  OptionError,
  POOLINGS,
  type Pooling,
  type ReduceOp,
  resolveBudget,
} from '@kvsieve/core';

/** Options as a command line or a JSON file hands them over: anything may be missing or mistyped. */
export type RawOptions = Readonly<Record<string, unknown>>;

export const REDUCTIONS: readonly ReduceOp[] = ['mean', 'max', 'sum'];

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Throws when `opts` names an option the method does not have (typos must not silently fall back to defaults). */
export function rejectUnknownOptions(where: string, opts: RawOptions, known: readonly string[]): void {
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new OptionError(`${where}: options must be an object, got ${show(opts)}`);
  }
  const unknown = Object.keys(opts).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new OptionError(
      `${where}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}; the options are ${known.map((k) => `"${k}"`).join(', ')}`,
    );
  }
}

/** Tokens kept per KV head (window included): `n`, `{ tokens: n }` with n ≥ 1, or `{ ratio: r }` with 0 < r ≤ 1. */
export function readBudget(where: string, value: unknown): Budget {
  const allowed = 'a whole number of tokens ≥ 1, { tokens: n } or { ratio: r } with 0 < r ≤ 1';
  if (value === undefined) throw new OptionError(`${where}: option "budget" is required (${allowed})`);
  let tokens: unknown;
  if (typeof value === 'number') tokens = value;
  else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === 'tokens') tokens = (value as { tokens: unknown }).tokens;
    else if (keys.length === 1 && keys[0] === 'ratio') {
      const ratio = (value as { ratio: unknown }).ratio;
      if (typeof ratio !== 'number' || !(ratio > 0 && ratio <= 1)) {
        throw new OptionError(`${where}: option "budget.ratio" must be in (0, 1], got ${show(ratio)}`);
      }
      return { ratio };
    } else throw new OptionError(`${where}: option "budget" must be ${allowed}, got ${show(value)}`);
  } else throw new OptionError(`${where}: option "budget" must be ${allowed}, got ${show(value)}`);
  if (typeof tokens !== 'number' || !Number.isInteger(tokens) || tokens < 1) {
    throw new OptionError(`${where}: option "budget" must be ${allowed}, got ${show(value)}`);
  }
  return typeof value === 'number' ? tokens : { tokens };
}

/** The budget in tokens when it is given in tokens; undefined for a ratio (known only per prompt). */
export function budgetTokens(budget: Budget): number | undefined {
  if (typeof budget === 'number') return budget;
  return 'tokens' in budget ? budget.tokens : undefined;
}

export interface IntRule {
  readonly min: number;
  readonly max?: number;
  readonly odd?: boolean;
  /** Extra words for the allowed range, e.g. "and smaller than the budget (64)". */
  readonly hint?: string;
}

export function readInt(
  where: string,
  name: string,
  value: unknown,
  fallback: number,
  rule: IntRule,
): number {
  const v = value === undefined ? fallback : value;
  const range = `${rule.odd ? 'an odd ' : 'an '}integer ≥ ${rule.min}${rule.max !== undefined ? ` and ≤ ${rule.max}` : ''}${rule.hint ? ` ${rule.hint}` : ''}`;
  const ok =
    typeof v === 'number' &&
    Number.isInteger(v) &&
    v >= rule.min &&
    (rule.max === undefined || v <= rule.max) &&
    (!rule.odd || Math.abs(v) % 2 === 1);
  if (!ok) throw new OptionError(`${where}: option "${name}" must be ${range}, got ${show(v)}`);
  return v as number;
}

export function readNumber(
  where: string,
  name: string,
  value: unknown,
  fallback: number,
  range: { readonly min: number; readonly max: number; readonly text: string },
): number {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < range.min || v > range.max) {
    throw new OptionError(`${where}: option "${name}" must be a number in ${range.text}, got ${show(v)}`);
  }
  return v;
}

export function readChoice<T extends string>(
  where: string,
  name: string,
  value: unknown,
  fallback: T,
  allowed: readonly T[],
): T {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new OptionError(
      `${where}: option "${name}" must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${show(v)}`,
    );
  }
  return v as T;
}

/** The observation window must leave room for at least one scored token in a budget given in tokens. */
export function readWindow(where: string, value: unknown, fallback: number, budget: Budget): number {
  const tokens = budgetTokens(budget);
  return readInt(where, 'window', value, fallback, {
    min: 1,
    ...(tokens !== undefined
      ? { max: tokens - 1, hint: `(smaller than the budget of ${tokens} tokens)` }
      : {}),
  });
}

/**
 * Per prompt: a ratio budget must still exceed the window when the prompt does not fit whole.
 * Returns the budget in tokens.
 */
export function checkBudgetForPrompt(where: string, budget: Budget, window: number, length: number): number {
  if (!Number.isInteger(length) || length < 1) {
    throw new OptionError(`${where}: prompt length must be a positive integer, got ${length}`);
  }
  const capacity = resolveBudget(budget, length);
  if (length > capacity && capacity <= window) {
    throw new OptionError(
      `${where}: option "budget" (${describeBudget(budget)}) gives ${capacity} tokens for a ${length}-token prompt, not more than the window (${window}); raise the budget or lower the window`,
    );
  }
  return capacity;
}

export interface WindowScoreOptions {
  /** Tokens kept per KV head, window included. */
  readonly budget: Budget;
  /** Observation window: the last `window` prompt tokens, always kept and never scored. */
  readonly window: number;
  /** Odd pooling kernel. */
  readonly kernel: number;
  readonly pooling: Pooling;
  /** How the query heads of a GQA group combine, before pooling. */
  readonly gqaReduce: ReduceOp;
}

export const WINDOW_SCORE_OPTION_NAMES = ['budget', 'window', 'kernel', 'pooling', 'gqaReduce'] as const;

/** SnapKV-family options with the given defaults, validated; unknown names are not checked here. */
export function readWindowScoreOptions(
  where: string,
  opts: RawOptions,
  defaults: Omit<WindowScoreOptions, 'budget'>,
): WindowScoreOptions {
  const budget = readBudget(where, opts.budget);
  const window = readWindow(where, opts.window, defaults.window, budget);
  const pooling = readChoice(where, 'pooling', opts.pooling, defaults.pooling, POOLINGS);
  const kernel =
    pooling === 'none' && opts.kernel === undefined
      ? 1
      : readInt(where, 'kernel', opts.kernel, defaults.kernel, { min: 1, odd: true });
  const gqaReduce = readChoice(where, 'gqaReduce', opts.gqaReduce, defaults.gqaReduce, REDUCTIONS);
  return { budget, window, kernel, pooling, gqaReduce };
}
