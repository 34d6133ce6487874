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
/** Every {@link NoPeak} choice, in the order the command line lists them. */
export const NO_PEAK_CHOICES: readonly NoPeak[] = ['latest', 'none'];

/**
 * StructKV's defaults: the paper's `R_KV = 10%`, `R_struct = 20%` (as `'auto'`), `w = 8`, `λ = 0.9`
 * and pivot weights; `topK`, `difference`, `noPeak` and `windowInBudget` are this reconstruction's
 * choices (the package README's Assumptions).
 */
export const STRUCTKV_DEFAULTS = {
  /** Memory budget `R_KV`: each layer stores 10% of the prompt per KV head. */
  budget: {
    /** Share of the prompt length. */
    ratio: 0.1,
  },
  /** Compute budget `R_struct`: 20% of the prompt, or the memory budget when that is larger. */
  computeBudget: 'auto',
  /** Observation window `w`: the paper's 8 tokens. */
  window: 8,
  /** Decay `λ` of the global centrality. */
  decay: 0.9,
  /** The pivot layer is detected online, per input. */
  pivot: 'auto',
  /** The paper's weights of `∇̄(−H)`, `∇̄(ρ)` and `∇̄(V)` in `T`. */
  weights: [0.2, 0.3, 0.5],
  /** `ρ` is the share of in-degree mass in the top 10% of the scored prefix. */
  topK: {
    /** Share of the layer's scored prefix. */
    ratio: 0.1,
  },
  /** `T_l` is the change arriving at layer `l`, so the pivot is confirmed at the pivot layer itself. */
  difference: 'backward',
  /** Without a peak, the latest allowed pivot is taken. */
  noPeak: 'latest',
  /** Both budgets count the window, as in every kvsieve method. */
  windowInBudget: true,
} as const;

/**
 * The `OptionError` for a compute budget that resolves to fewer tokens than the
 * memory budget (returned, not thrown). `context` is appended to the message, e.g.
 * `" for a 480-token prompt"`, or `""` when the options alone show it.
 */
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
  /**
   * Memory budget `R_KV`: entries each layer stores per KV head, window included unless
   * `windowInBudget` is false: `n`, `{ tokens: n }` or `{ ratio: r }` of the prompt. Default
   * `{ ratio: 0.1 }`. Each layer picks its own entries by its own in-degree.
   */
  budget: option.budget({
    default: STRUCTKV_DEFAULTS.budget,
    doc: 'Memory budget R_KV: entries each layer stores per KV head (window included unless windowInBudget is false).',
  }),
  /**
   * Compute budget `R_struct`: tokens the layers after the pivot still compute on (the most central
   * ones, plus the window, at their original positions). `'auto'` (default): 20% of the prompt, or
   * the memory budget when that is larger. A given budget below `budget` throws an
   * `OptionError`, when the options are read (same units) or when a run begins.
   */
  computeBudget: option.custom<Budget | 'auto', 'default'>({
    presence: 'default',
    allowed: '"auto", or a budget (tokens, { tokens: n } or { ratio: r }) not below the memory budget',
    defaultText: '"auto": 20% of the prompt or the memory budget, whichever is larger',
    doc: 'Compute budget R_struct: tokens the layers after the pivot still compute on.',
    read: (v, ctx) => (v === undefined || v === 'auto' ? 'auto' : readBudget(ctx.where, v, ctx.name)),
  }),
  /**
   * Observation window `w` (≥ 1): the last prompt tokens, whose queries give the in-degrees; always
   * stored and always propagated. Default 8. With `windowInBudget`, it must be smaller than a
   * budget in tokens (a default is halved to fit).
   */
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
  /** Decay `λ` in (0, 1] of the centrality `C_j = Σ_{l ≤ L*} λ^(L* − l) · S⁽ˡ⁾_j`; 1 weighs every layer alike. Default 0.9. */
  decay: option.number({
    default: STRUCTKV_DEFAULTS.decay,
    min: Number.MIN_VALUE,
    max: 1,
    range: '(0, 1]',
    doc: 'Decay λ of the global centrality.',
  }),
  /**
   * `'auto'` (default): the pivot `L*` is detected online from each layer's statistics; a layer
   * index (0-based): always that layer, no statistics computed. An index past the model's last
   * layer throws an `OptionError` when a run begins.
   */
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
  /**
   * Earliest layer `'auto'` may take as the pivot (only with `pivot: 'auto'`). Default: the earliest
   * detectable, 2 (`'backward'`) or 1 (`'forward'`). Must not exceed `maxPivot`.
   */
  minPivot: pivotBound(
    'Earliest pivot auto may choose (default: the earliest it can detect: 2 backward, 1 forward).',
  ),
  /**
   * Latest layer `'auto'` may take as the pivot (only with `pivot: 'auto'`). Default
   * `numLayers − 2 − lag` (lag 0 `'backward'`, 1 `'forward'`), so at least one layer computes on
   * the reduced set.
   */
  maxPivot: pivotBound(
    'Latest pivot auto may choose (default: numLayers − 2 − lag, so one layer is always reduced).',
  ),
  /**
   * Weights `[entropy, mass, variance]` of `∇̄(−H)`, `∇̄(ρ)` and `∇̄(V)` in the transition score `T`:
   * three finite numbers ≥ 0, not all 0. Default `[0.2, 0.3, 0.5]` (the paper's).
   */
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
  /** `k` of the top-k mass `ρ_l`, of the layer's scored prefix (at least 1): `n`, `{ tokens }` or `{ ratio }`. Default `{ ratio: 0.1 }`. */
  topK: option.budget({
    default: STRUCTKV_DEFAULTS.topK,
    doc: 'k of the top-k mass ρ: tokens, { tokens } or { ratio } of the scored prefix.',
  }),
  /** How `L* = argmax T + 1` indexes the layer-to-layer changes (see {@link PivotDifference}); default `'backward'`. */
  difference: option.choice(PIVOT_DIFFERENCES, {
    default: STRUCTKV_DEFAULTS.difference,
    doc: 'How argmax T + 1 indexes the layer changes.',
  }),
  /**
   * When `T` shows no peak by `maxPivot`: `'latest'` (default) takes `maxPivot` as the pivot;
   * `'none'` propagates nothing (memory compression only).
   */
  noPeak: option.choice(NO_PEAK_CHOICES, {
    default: STRUCTKV_DEFAULTS.noPeak,
    doc: "No peak by maxPivot: 'latest' pivots there; 'none' never propagates.",
  }),
  /**
   * Whether both budgets count the window (`true`, default: a layer stores exactly `budget`
   * entries, like every kvsieve method) or add it on top (`false`: the paper's `top(R·L) ∪ window`).
   */
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
/**
 * What {@link structkv} takes: every option is optional (defaults in {@link STRUCTKV_DEFAULTS});
 * `minPivot` and `maxPivot` only with `pivot: 'auto'`.
 */
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
): {
  /** Tokens the layers after the pivot compute on, window included. */
  total: number;
  /** Of those, the prefix tokens chosen by centrality (the rest is the window). */
  prefix: number;
} {
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
): {
  /** Tokens per KV head, window included. */
  total: number;
  /** Of those, the scored prefix tokens (`total − window`). */
  prefix: number;
} {
  const tokens = resolveBudget(budget, length);
  return windowInBudget
    ? { total: tokens, prefix: tokens - window }
    : { total: tokens + window, prefix: tokens };
}
