import { type Budget, OptionError } from '@kvsieve/core';

/** A budget from the command line with the label it is printed under. */
export interface LabelledBudget {
  /** How tables and result rows print it: the entry as given for a percentage (`25%`), `25%` for `0.25`, `100 tokens` for `100`. */
  readonly label: string;
  /** The parsed budget: `{ ratio }` for percentages and fractions, `{ tokens }` for whole numbers. */
  readonly budget: Budget;
}

/**
 * Parse a comma-separated budget list: `25%` and `0.25` are ratios of the prompt, `100` is a token
 * count. Ratios must lie in (0, 1], token counts must be positive integers.
 */
export function parseBudgets(text: string, option = '--budgets'): LabelledBudget[] {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) {
    throw new OptionError(
      `${option}: ${JSON.stringify(text)} has an empty entry; give a comma-separated list like 25%,50% or 100,200`,
    );
  }
  return parts.map((p) => {
    const bad = (why: string) =>
      new OptionError(
        `${option}: ${JSON.stringify(p)} ${why}; use a percentage in (0%, 100%], a ratio in (0, 1] or a whole number of tokens ≥ 1`,
      );
    if (p.endsWith('%')) {
      const pct = Number(p.slice(0, -1));
      if (!(pct > 0 && pct <= 100)) throw bad('is not a percentage in (0%, 100%]');
      return { label: p, budget: { ratio: pct / 100 } };
    }
    const v = Number(p);
    if (!Number.isFinite(v) || !(v > 0)) throw bad('is not a positive number');
    if (p.includes('.') || v < 1) {
      if (v > 1) throw bad('is a fraction above 1');
      return { label: `${+(v * 100).toFixed(6)}%`, budget: { ratio: v } };
    }
    if (!Number.isInteger(v)) throw bad('is not a whole number of tokens');
    return { label: `${v} tokens`, budget: { tokens: v } };
  });
}

/** A method's resolved options without its budget, for a table's params column. */
export function describeParams(options: Readonly<Record<string, unknown>>): string {
  return Object.entries(options)
    .filter(([k]) => k !== 'budget')
    .map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(', ');
}
