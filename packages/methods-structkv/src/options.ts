import {
  type Budget,
  budgetTokens,
  describeBudget,
  OptionError,
  readBudget,
  readInteger,
  resolveBudget,
  showValue,
} from '@kvsieve/core';
import {
  type OptionsInput,
  option,
  type ReadContext,
  type ResolvedOptions as ResolvedOf,
} from '@kvsieve/method-kit';
import { PIVOT_DIFFERENCES, type PivotWeights } from './stats.js';

const WHERE = 'structkv';

/** What the online rule does when `T` shows no peak by the latest allowed pivot. */
export type NoPeak = 'latest' | 'none';
export const NO_PEAK_CHOICES: readonly NoPeak[] = ['latest', 'none'];

export const STRUCTKV_DEFAULTS = {
  budget: { ratio: 0.1 },
  computeBudget: 'auto',
  window: 8,
  decay: 0.9,
  pivot: 'auto',
  weights: [0.2, 0.3, 0.5],
  topK: { ratio: 0.1 },
  difference: 'backward',
  noPeak: 'latest',
  windowInBudget: true,
} as const;

export function computeBelowMemory(
  computeTokens: number,
  memoryTokens: number,
  context: string,
): OptionError {
  return new OptionError(
    `${WHERE}: option "computeBudget" gives ${computeTokens} tokens, fewer than the memory budget "budget" (${memoryTokens} tokens)${context}; the layers after the pivot would hold fewer tokens than they are meant to store: raise computeBudget or lower budget`,
  );
}

const windowInBudgetOf = (ctx: ReadContext): boolean =>
  ctx.raw.windowInBudget === undefined ? STRUCTKV_DEFAULTS.windowInBudget : ctx.raw.windowInBudget === true;

const windowOption = option.window({
  default: STRUCTKV_DEFAULTS.window,
  doc: 'Observation window: the last prompt tokens, always kept and always propagated.',
});

/** StructKV's options, declared once (see `defineMethod`). */
export const STRUCTKV_OPTIONS = {
  budget: option.budget({
    default: STRUCTKV_DEFAULTS.budget,
    doc: 'Memory budget R_KV: entries each layer stores per KV head (window included unless windowInBudget is false).',
  }),
  computeBudget: option.custom<Budget | 'auto', 'default'>({
    presence: 'default',
    allowed: '"auto", or a budget (tokens, { tokens: n } or { ratio: r }) not below the memory budget',
    defaultText: '"auto": 20% of the prompt or the memory budget, whichever is larger',
    doc: 'Compute budget R_struct: tokens the layers after the pivot still compute on.',
    read: (v, ctx) => (v === undefined || v === 'auto' ? 'auto' : readBudget(ctx.where, v, ctx.name)),
  }),
  window: option.custom<number, 'default'>({
    presence: 'default',
    allowed: windowOption.allowed,
    defaultText: windowOption.defaultText!,
    doc: windowOption.doc,
    // The budget counts the window only when windowInBudget holds; otherwise any window ≥ 1 serves.
    read: (v, ctx) =>
      windowInBudgetOf(ctx)
        ? windowOption.read(v, ctx)
        : readInteger(ctx.where, ctx.name, v ?? STRUCTKV_DEFAULTS.window, { min: 1 }),
  }),
  decay: option.number({
    default: STRUCTKV_DEFAULTS.decay,
    min: Number.MIN_VALUE,
    max: 1,
    range: '(0, 1]',
    doc: 'Decay λ of the global centrality.',
  }),
  pivot: option.custom<'auto' | number, 'default'>({
    presence: 'default',
    allowed: '"auto" or a layer index (an integer ≥ 0)',
    defaultText: '"auto"',
    doc: "'auto': online pivot detection; a layer index: always that layer.",
    read(v, ctx) {
      const x = v ?? STRUCTKV_DEFAULTS.pivot;
      if (x === 'auto' || (typeof x === 'number' && Number.isInteger(x) && x >= 0)) return x;
      throw new OptionError(
        `${ctx.where}: option "pivot" must be "auto" or a layer index (an integer ≥ 0), got ${showValue(x)}`,
      );
    },
  }),
  minPivot: pivotBound(
    'Earliest pivot auto may choose (default: the earliest it can detect: 2 backward, 1 forward).',
  ),
  maxPivot: pivotBound(
    'Latest pivot auto may choose (default: numLayers − 2 − lag, so one layer is always reduced).',
  ),
  weights: option.custom<PivotWeights, 'default'>({
    presence: 'default',
    allowed: 'three finite numbers ≥ 0, not all 0',
    defaultText: '[0.2, 0.3, 0.5]',
    doc: 'Weights of ∇̄(−H), ∇̄(ρ), ∇̄(V) in the transition score T.',
    read(v, ctx) {
      const w = v ?? STRUCTKV_DEFAULTS.weights;
      if (
        !Array.isArray(w) ||
        w.length !== 3 ||
        !w.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0) ||
        w.every((x) => x === 0)
      ) {
        throw new OptionError(
          `${ctx.where}: option "weights" must be three finite numbers ≥ 0, not all 0 ([entropy, mass, variance], default [0.2, 0.3, 0.5]), got ${showValue(w)}`,
        );
      }
      return [w[0], w[1], w[2]];
    },
  }),
  topK: option.budget({
    default: STRUCTKV_DEFAULTS.topK,
    doc: 'k of the top-k mass ρ: tokens, { tokens } or { ratio } of the scored prefix.',
  }),
  difference: option.choice(PIVOT_DIFFERENCES, {
    default: STRUCTKV_DEFAULTS.difference,
    doc: 'How argmax T + 1 indexes the layer changes.',
  }),
  noPeak: option.choice(NO_PEAK_CHOICES, {
    default: STRUCTKV_DEFAULTS.noPeak,
    doc: "No peak by maxPivot: 'latest' pivots there; 'none' never propagates.",
  }),
  windowInBudget: option.boolean({
    default: STRUCTKV_DEFAULTS.windowInBudget,
    doc: 'Whether both budgets count the window (true, as every kvsieve method) or add it on top.',
  }),
};

function pivotBound(doc: string) {
  return option.custom<number | undefined, 'optional'>({
    presence: 'optional',
    allowed: 'an integer ≥ 0 (only with pivot "auto")',
    doc,
    read(v, ctx) {
      if (v === undefined) return undefined;
      if (ctx.values.pivot !== 'auto') {
        throw new OptionError(
          `${ctx.where}: option "${ctx.name}" bounds the automatic pivot, but "pivot" is fixed at ${ctx.values.pivot}; drop ${ctx.name} or set pivot "auto"`,
        );
      }
      return readInteger(ctx.where, ctx.name, v, { min: 0 });
    },
  });
}

/** Options after validation, defaults filled in (pivot bounds stay undefined: they depend on the model). */
export type ResolvedOptions = ResolvedOf<typeof STRUCTKV_OPTIONS>;
export type StructKVOptions = OptionsInput<typeof STRUCTKV_OPTIONS>;

function sameUnit(a: Budget, b: Budget): 'tokens' | 'ratio' | null {
  const ta = budgetTokens(a);
  const tb = budgetTokens(b);
  if (ta !== undefined && tb !== undefined) return 'tokens';
  if (ta === undefined && tb === undefined) return 'ratio';
  return null;
}

/** The rules between StructKV's options that no single option states. */
export function checkOptions(o: ResolvedOptions): void {
  if (o.minPivot !== undefined && o.maxPivot !== undefined && o.minPivot > o.maxPivot) {
    throw new OptionError(
      `${WHERE}: option "minPivot" (${o.minPivot}) is above "maxPivot" (${o.maxPivot}); the pivot range would be empty`,
    );
  }
  if (o.computeBudget === 'auto') return;
  const unit = sameUnit(o.budget, o.computeBudget);
  if (unit === 'tokens' && budgetTokens(o.computeBudget)! < budgetTokens(o.budget)!) {
    throw computeBelowMemory(budgetTokens(o.computeBudget)!, budgetTokens(o.budget)!, '');
  }
  if (unit === 'ratio') {
    const rc = (o.computeBudget as { ratio: number }).ratio;
    const rm = (o.budget as { ratio: number }).ratio;
    if (rc < rm) {
      throw new OptionError(
        `${WHERE}: option "computeBudget" (${describeBudget(o.computeBudget)}) is below the memory budget "budget" (${describeBudget(o.budget)}); the layers after the pivot would hold fewer tokens than they are meant to store: raise computeBudget or lower budget`,
      );
    }
  }
}

/** The share of the prompt `computeBudget: 'auto'` starts from. */
export const AUTO_COMPUTE: Budget = { ratio: 0.2 };

/** Slots of `computeBudget: 'auto'`: 20% of the prompt, or the memory budget's when that is larger. */
export function autoComputeSlots(
  memory: { total: number; prefix: number },
  window: number,
  windowInBudget: boolean,
  length: number,
): { total: number; prefix: number } {
  const tokens = resolveBudget(AUTO_COMPUTE, length);
  const slots = windowInBudget
    ? { total: tokens, prefix: tokens - window }
    : { total: tokens + window, prefix: tokens };
  return slots.prefix < 1 || slots.total < memory.total ? memory : slots;
}

/** Slots of a budget for a prompt: its total, and how many are scored prefix tokens (the rest: window). */
export function prefixSlots(
  budget: Budget,
  window: number,
  windowInBudget: boolean,
  length: number,
): { total: number; prefix: number } {
  const tokens = resolveBudget(budget, length);
  return windowInBudget
    ? { total: tokens, prefix: tokens - window }
    : { total: tokens + window, prefix: tokens };
}
