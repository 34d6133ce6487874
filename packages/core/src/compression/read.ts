import { OptionError } from '../errors.js';

/** A value in an error message: strings quoted, objects as JSON. */
export function showValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The allowed range of an integer option, for {@link readInteger} and {@link describeInt}. */
export interface IntRule {
  /** Smallest allowed value (inclusive). */
  readonly min: number;
  /** Largest allowed value (inclusive); absent: no upper bound. */
  readonly max?: number;
  /** Only odd values are allowed (pooling kernels). */
  readonly odd?: boolean;
  /** Extra words for the allowed range, e.g. "(smaller than the budget of 64 tokens)". */
  readonly hint?: string;
}

/** The allowed range of an integer option, in words. */
export function describeInt(rule: IntRule): string {
  const max = rule.max !== undefined ? ` and ≤ ${rule.max}` : '';
  return `${rule.odd ? 'an odd ' : 'an '}integer ≥ ${rule.min}${max}${rule.hint ? ` ${rule.hint}` : ''}`;
}

/** An integer option: the message names the method, the option, the allowed range and the value. */
export function readInteger(where: string, name: string, value: unknown, rule: IntRule): number {
  const ok =
    typeof value === 'number' &&
    Number.isInteger(value) &&
    value >= rule.min &&
    (rule.max === undefined || value <= rule.max) &&
    (!rule.odd || Math.abs(value) % 2 === 1);
  if (!ok)
    throw new OptionError(`${where}: option "${name}" must be ${describeInt(rule)}, got ${showValue(value)}`);
  return value as number;
}

/** Throws when `opts` names an option the method does not have (typos must not silently fall back to defaults). */
export function rejectUnknownOptions(where: string, opts: unknown, known: readonly string[]): void {
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new OptionError(`${where}: options must be an object, got ${showValue(opts)}`);
  }
  const unknown = Object.keys(opts).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new OptionError(
      `${where}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}; the options are ${known.map((k) => `"${k}"`).join(', ')}`,
    );
  }
}

/** A finite number in `[min, max]`; `range` says it in words, e.g. "[0, 1]" or "(0, 1]". */
export function readNumberIn(
  where: string,
  name: string,
  value: unknown,
  bounds: { readonly min: number; readonly max: number; readonly range: string },
): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < bounds.min || value > bounds.max) {
    throw new OptionError(
      `${where}: option "${name}" must be a number in ${bounds.range}, got ${showValue(value)}`,
    );
  }
  return value;
}
