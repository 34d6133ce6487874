import {
  type Budget,
  budgetTokens,
  describeInt,
  fitReservedToBudget,
  type IntRule,
  OptionError,
  POOLINGS,
  type Pooling,
  type ReduceOp,
  readBudget,
  readInteger,
  readNumberIn,
  showValue,
} from '@kvsieve/core';

/** Whether an option must be given, has a default, or may be left out. */
export type Presence = 'required' | 'default' | 'optional';

/** What a reader sees besides the value: the options read before this one (declaration order). */
export interface ReadContext {
  /** The method, for messages. */
  readonly where: string;
  /** This option's name. */
  readonly name: string;
  /** Options read so far (declared earlier), resolved. */
  readonly values: Readonly<Record<string, unknown>>;
  /** Names the caller gave (the rest took their defaults). */
  readonly given: ReadonlySet<string>;
  /** Every option as the caller gave it, unchecked (for a default that follows a later option). */
  readonly raw: Readonly<Record<string, unknown>>;
}

/**
 * One option of a method: how it is read and checked, and how it is described to people (CLI
 * help, docs, the playground's form). Declared once; the method's typed input, its option names
 * and its messages all come from it.
 */
export interface OptionSpec<T, P extends Presence = Presence, In = T> {
  /** Type-level only: what a caller passes (default: the resolved type). */
  readonly input?: In;
  /** Which `option` builder made it, for forms and docs; `custom` readers check their own values. */
  readonly kind: 'budget' | 'integer' | 'number' | 'choice' | 'boolean' | 'custom';
  /** Whether the option must be given, has a default, or may be left out (resolving to undefined). */
  readonly presence: P;
  /** One sentence for people: what the option does. */
  readonly doc: string;
  /** The allowed values in words, e.g. "an odd integer ≥ 1". */
  readonly allowed: string;
  /** The default as people read it (a value, or a rule such as "32, halved to fit a smaller budget"). */
  readonly defaultText?: string;
  /** The allowed strings of a `choice` option; absent for every other kind. */
  readonly choices?: readonly string[];
  /** Turns the given value (undefined when not given) into the resolved one, or throws an OptionError. */
  read(value: unknown, ctx: ReadContext): T;
}

/** A method's options by name: what {@link MethodDeclaration.options} holds. Declaration order is read order. */
// biome-ignore lint/suspicious/noExplicitAny: a schema holds options of any value type.
export type Schema = Readonly<Record<string, OptionSpec<any, Presence, any>>>;

type ValueOf<S> = S extends OptionSpec<infer T, Presence, unknown> ? T : never;
type InputOf<S> = S extends OptionSpec<unknown, Presence, infer In> ? In : never;
type RequiredKeys<S extends Schema> = {
  [K in keyof S]: S[K] extends OptionSpec<unknown, 'required', unknown> ? K : never;
}[keyof S];

/** Arguments of a typed factory: the options may be left out when none is required. */
export type FactoryArgs<S extends Schema> = [RequiredKeys<S>] extends [never]
  ? [options?: OptionsInput<S>]
  : [options: OptionsInput<S>];

/** What a caller passes: required options, and any of the others. */
export type OptionsInput<S extends Schema> = { readonly [K in RequiredKeys<S>]: InputOf<S[K]> } & {
  readonly [K in Exclude<keyof S, RequiredKeys<S>>]?: InputOf<S[K]>;
};

/** Options after validation, defaults filled in. */
export type ResolvedOptions<S extends Schema> = {
  readonly [K in keyof S]: S[K] extends OptionSpec<infer T, 'optional', unknown>
    ? T | undefined
    : ValueOf<S[K]>;
};

/** The GQA reductions a `gqaReduce` option accepts: `mean`, `max`, `sum`. */
export const REDUCTIONS: readonly ReduceOp[] = ['mean', 'max', 'sum'];

type Default<T> = T | ((ctx: ReadContext) => T);
const pick = <T>(d: Default<T>, ctx: ReadContext): T =>
  typeof d === 'function' ? (d as (c: ReadContext) => T)(ctx) : d;

/** Budget in tokens of an earlier option (the method's "budget" by default), when it is in tokens. */
function earlierTokens(ctx: ReadContext, name: string): number | undefined {
  const b = ctx.values[name] as Budget | undefined;
  return b === undefined ? undefined : budgetTokens(b);
}

interface Common {
  readonly doc: string;
}

/** A token budget: `n`, `{ tokens: n }` or `{ ratio: r }`. Required unless a default is given. */
function budget(o: Common): OptionSpec<Budget, 'required'>;
function budget(o: Common & { readonly default: Budget }): OptionSpec<Budget, 'default'>;
function budget(o: Common & { readonly default?: Budget }): OptionSpec<Budget> {
  return {
    kind: 'budget',
    presence: o.default === undefined ? 'required' : 'default',
    doc: o.doc,
    allowed: 'tokens (n ≥ 1), { tokens: n } or { ratio: r } with 0 < r ≤ 1',
    ...(o.default !== undefined ? { defaultText: showValue(o.default) } : {}),
    read: (v, ctx) =>
      v === undefined && o.default !== undefined ? o.default : readBudget(ctx.where, v, ctx.name),
  };
}

/**
 * Positions a method keeps inside the budget without scoring them (the observation window, or
 * sinks). Against a budget in tokens: a given value must be smaller than the budget; a default
 * that does not fit is halved to fit (core's `fitReservedToBudget`, the one rule for all methods).
 */
function reserved(o: Common & { readonly default: number; readonly min: number; readonly budget?: string }) {
  const budgetName = o.budget ?? 'budget';
  const spec: OptionSpec<number, 'default'> = {
    kind: 'integer',
    presence: 'default',
    doc: o.doc,
    allowed: `an integer ≥ ${o.min}, smaller than a budget given in tokens`,
    defaultText: `${o.default} (halved to fit a smaller budget in tokens)`,
    read(v, ctx) {
      const tokens = earlierTokens(ctx, budgetName);
      if (v !== undefined) {
        return readInteger(ctx.where, ctx.name, v, {
          min: o.min,
          ...(tokens !== undefined
            ? { max: tokens - 1, hint: `(smaller than the budget of ${tokens} tokens)` }
            : {}),
        });
      }
      const b = ctx.values[budgetName] as Budget | undefined;
      if (b === undefined) return o.default;
      return fitReservedToBudget({ where: ctx.where, name: ctx.name, min: o.min }, b, o.default, false);
    },
  };
  return spec;
}

/** An observation window: at least 1 query (or `min: 0` for a method that may read none). */
const window = (o: Common & { readonly default: number; readonly min?: number; readonly budget?: string }) =>
  reserved({ ...o, min: o.min ?? 1 });

interface IntOptions extends Common {
  readonly min: number;
  /** An upper bound, possibly from earlier options (e.g. `budget − window`); undefined: none. */
  readonly max?: number | ((ctx: ReadContext) => number | undefined);
  readonly odd?: boolean;
  /** Words for the bound, e.g. `(budget − window = 16 − 4)`. */
  readonly hint?: (ctx: ReadContext) => string | undefined;
}

function integer(o: IntOptions & { readonly required: true }): OptionSpec<number, 'required'>;
function integer(o: IntOptions): OptionSpec<number, 'optional'>;
function integer(o: IntOptions & { readonly default: Default<number> }): OptionSpec<number, 'default'>;
function integer(
  o: IntOptions & { readonly default?: Default<number>; readonly required?: true },
): OptionSpec<number> {
  const rule = (ctx: ReadContext): IntRule => {
    const max = typeof o.max === 'function' ? o.max(ctx) : o.max;
    const hint = max !== undefined ? o.hint?.(ctx) : undefined;
    return {
      min: o.min,
      ...(max !== undefined ? { max } : {}),
      ...(o.odd ? { odd: true } : {}),
      ...(hint ? { hint } : {}),
    };
  };
  const allowed = describeInt({
    min: o.min,
    ...(typeof o.max === 'number' ? { max: o.max } : {}),
    ...(o.odd ? { odd: true } : {}),
  });
  return {
    kind: 'integer',
    presence: o.required ? 'required' : o.default === undefined ? 'optional' : 'default',
    doc: o.doc,
    allowed,
    ...(typeof o.default === 'number' ? { defaultText: String(o.default) } : {}),
    read(v, ctx) {
      if (v === undefined && o.required) {
        throw new OptionError(`${ctx.where}: option "${ctx.name}" is required (${allowed})`);
      }
      if (v === undefined && o.default === undefined) return undefined as unknown as number;
      return readInteger(ctx.where, ctx.name, v === undefined ? pick(o.default!, ctx) : v, rule(ctx));
    },
  };
}

interface NumberOptions extends Common {
  readonly min: number;
  readonly max: number;
  /** The range in words, e.g. "[0, 1]" or "(0, 1]". */
  readonly range: string;
}

function number(o: NumberOptions): OptionSpec<number, 'optional'>;
function number(o: NumberOptions & { readonly default: number }): OptionSpec<number, 'default'>;
function number(o: NumberOptions & { readonly default?: number }): OptionSpec<number> {
  return {
    kind: 'number',
    presence: o.default === undefined ? 'optional' : 'default',
    doc: o.doc,
    allowed: `a number in ${o.range}`,
    ...(o.default !== undefined ? { defaultText: String(o.default) } : {}),
    read(v, ctx) {
      if (v === undefined && o.default === undefined) return undefined as unknown as number;
      return readNumberIn(ctx.where, ctx.name, v === undefined ? o.default : v, o);
    },
  };
}

/** One of a few strings. */
function choice<T extends string>(
  choices: readonly T[],
  o: Common & { readonly default: NoInfer<Default<T>> },
): OptionSpec<T, 'default'> {
  return {
    kind: 'choice',
    presence: 'default',
    doc: o.doc,
    allowed: `one of ${choices.map((c) => `"${c}"`).join(', ')}`,
    ...(typeof o.default === 'string' ? { defaultText: `"${o.default}"` } : {}),
    choices,
    read(v, ctx) {
      const x = v === undefined ? pick(o.default, ctx) : v;
      if (typeof x !== 'string' || !(choices as readonly string[]).includes(x)) {
        throw new OptionError(
          `${ctx.where}: option "${ctx.name}" must be one of ${choices.map((a) => `"${a}"`).join(', ')}, got ${showValue(x)}`,
        );
      }
      return x as T;
    },
  };
}

function boolean(o: Common & { readonly default: boolean }): OptionSpec<boolean, 'default'> {
  return {
    kind: 'boolean',
    presence: 'default',
    doc: o.doc,
    allowed: 'true or false',
    defaultText: String(o.default),
    read(v, ctx) {
      const x = v === undefined ? o.default : v;
      if (typeof x !== 'boolean') {
        throw new OptionError(
          `${ctx.where}: option "${ctx.name}" must be true or false, got ${showValue(x)}`,
        );
      }
      return x;
    },
  };
}

/**
 * Anything else: the reader does the checking (it is called with undefined when not given). `In`
 * is what callers pass when it differs from the resolved value (e.g. a path that is read).
 */
function custom<T, P extends Presence, In = T>(
  o: Common & {
    readonly presence: P;
    readonly allowed: string;
    readonly defaultText?: string;
    readonly read: (value: unknown, ctx: ReadContext) => T;
  },
): OptionSpec<T, P, In> {
  return { kind: 'custom', ...o };
}

/** Builders for a method's options (see `defineMethod`). */
export const option = {
  /**
   * A budget option (`n`, `{ tokens: n }` or `{ ratio: r }`): required, unless `default` is given.
   * Read by core's `readBudget`.
   */
  budget,
  window,
  /**
   * Positions kept inside the budget unscored (`default`, `min`; `budget` names the budget option,
   * default "budget"): a given value must be below a budget in tokens, a default is halved to fit.
   */
  reserved,
  /**
   * An integer ≥ `min`, optionally ≤ `max` (a number or a bound computed from earlier options) and
   * odd; required (`required: true`), defaulted (`default`, a value or a function of earlier
   * options) or else optional.
   */
  integer,
  /** A finite number in `[min, max]` (`range` says it in words); defaulted, or else optional. */
  number,
  /** One of `choices`, with a `default` (a value or a function of the other options). */
  choice,
  /** `true` or `false`, with a `default`. */
  boolean,
  /**
   * Anything else: the declaration gives `presence`, `allowed`, optional `defaultText` and a
   * `read` that checks the value (called with undefined when not given) and throws an `OptionError`.
   */
  custom,
};

/** Budget in tokens of an earlier option, for bounds such as `chunkSize ≤ budget − window`. */
export { earlierTokens };

/** A method's defaults for {@link windowScoreOptions}. */
export interface WindowScoreDefaults {
  /** Observation window in tokens (halved to fit a smaller budget in tokens). */
  readonly window: number;
  /** Odd pooling kernel (used as 1 when pooling is `none` and no kernel is given). */
  readonly kernel: number;
  /** How window scores are smoothed along tokens. */
  readonly pooling: Pooling;
  /** How the query heads of a GQA group combine their scores. */
  readonly gqaReduce: ReduceOp;
}

/**
 * SnapKV's family of options (budget, window, pooling kernel and mode, GQA reduction), with a
 * method's defaults. With no pooling the kernel defaults to 1.
 */
export function windowScoreOptions(d: WindowScoreDefaults) {
  return {
    /** Required: tokens per KV head, window included. */
    budget: option.budget({
      doc: 'Tokens kept per KV head, window included: a count, { tokens } or { ratio } of the prompt.',
    }),
    /** The observation window; default `d.window`, halved to fit a smaller budget in tokens. */
    window: option.window({
      default: d.window,
      doc: 'Observation window: the last prompt tokens, always kept; their queries vote for the others.',
    }),
    /** Odd pooling kernel ≥ 1; default `d.kernel`, or 1 when pooling is `none`. */
    kernel: option.integer({
      default: (ctx: ReadContext) => ((ctx.raw.pooling ?? d.pooling) === 'none' ? 1 : d.kernel),
      min: 1,
      odd: true,
      doc: 'Odd pooling kernel (1 with no pooling).',
    }),
    /** `avgpool`, `maxpool` or `none`; default `d.pooling`. */
    pooling: option.choice(POOLINGS, { default: d.pooling, doc: 'How votes are smoothed along tokens.' }),
    /** `mean`, `max` or `sum` over a GQA group's query heads; default `d.gqaReduce`. */
    gqaReduce: option.choice(REDUCTIONS, {
      default: d.gqaReduce,
      doc: 'How the query heads sharing a KV head combine, before pooling.',
    }),
  };
}
