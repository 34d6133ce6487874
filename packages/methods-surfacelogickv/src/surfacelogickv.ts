import {
  type AllocationInput,
  type Allocator,
  budgetTokens,
  OptionError,
  observationScorer,
  scoreAllocateSelect,
  showValue,
} from '@kvsieve/core';
import { defineMethod, type OptionsInput, option, windowScoreOptions } from '@kvsieve/method-kit';
import { HEAD_REDUCES, type HeadReduce, kvHeadScores, twoStageAllocation } from './allocate.js';
import { checkProfileMatches, computeInfsc, loadProfile, parseProfile, type SlkvProfile } from './profile.js';

/** Stage 1's base per KV head: a fraction of the per-head prefix budget, or a token count. */
export type BaseBudget =
  | number
  | {
      /** Prefix tokens every KV head gets in stage 1; at most the per-head prefix budget `budget − window`. */
      readonly tokens: number;
    };

/**
 * SurfaceLogicKV's defaults. The paper leaves stage 1's "small fixed base" open: 0.2 of the per-head
 * prefix budget is this reconstruction's choice (AdaKV's floor fraction). Token selection inside a
 * head uses SnapKV's defaults.
 */
export const SURFACELOGICKV_DEFAULTS = {
  /** Stage 1: `⌊0.2 · (budget − window)⌋` prefix tokens per KV head before INFsc shares the rest. */
  base: 0.2,
  /** A KV head's score is the sum of its GQA group's INFsc (the group's share of the total). */
  headReduce: 'sum',
  /** Observation window: the last 32 prompt tokens, kept by every head and voting for the rest. */
  window: 32,
  /** SnapKV's pooling kernel along tokens (odd). */
  kernel: 5,
  /** Average pooling, counting the zero padding at the edges. */
  pooling: 'avgpool',
  /** The query heads sharing a KV head average their window scores before pooling. */
  gqaReduce: 'mean',
} as const;

const WHERE = 'surfacelogickv';

function readBase(value: unknown): BaseBudget {
  const v = value === undefined ? SURFACELOGICKV_DEFAULTS.base : value;
  const allowed = 'a fraction r in [0, 1] of the per-head prefix budget, or { tokens: n } with n ≥ 0';
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0 || v > 1) {
      throw new OptionError(`${WHERE}: option "base" must be a number in [0, 1], got ${showValue(v)}`);
    }
    return v;
  }
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const keys = Object.keys(v);
    const t = (v as { tokens?: unknown }).tokens;
    if (keys.length === 1 && typeof t === 'number' && Number.isInteger(t) && t >= 0) return { tokens: t };
  }
  throw new OptionError(`${WHERE}: option "base" must be ${allowed}, got ${JSON.stringify(v)}`);
}

/** Stage-1 tokens per head for a per-head prefix budget; throws when the base does not fit. */
function baseTokens(base: BaseBudget, prefixBudget: number, capacity: string): number {
  if (typeof base === 'number') return Math.floor(base * prefixBudget);
  if (base.tokens > prefixBudget) {
    throw new OptionError(
      `${WHERE}: option "base" ({ tokens: ${base.tokens} }) is more than the ${prefixBudget} prefix tokens a head has on average (${capacity}); raise the budget, lower the window, or lower the base`,
    );
  }
  return base.tokens;
}

/**
 * The per-head allocator: the two-stage plan over every KV head of every layer, computed once
 * per prompt (length, capacity, window) and read out layer by layer.
 */
export function profileAllocator(opts: {
  readonly profile: SlkvProfile;
  readonly base: BaseBudget;
  readonly alpha?: number;
  readonly headReduce: HeadReduce;
}): Allocator & {
  /**
   * The whole plan for a prompt: prefix tokens per KV head, `[numLayers][numKvHeads]`, cached by
   * (length, capacity, window). Throws an `OptionError` when a `{ tokens }` base exceeds
   * `capacity − window`.
   */
  plan(input: PlanInput): Int32Array[];
} {
  const { profile } = opts;
  const infsc =
    opts.alpha === undefined || opts.alpha === profile.alpha
      ? profile.infsc
      : computeInfsc(profile.heads, opts.alpha);
  const scores = kvHeadScores(infsc, profile.model.numKvHeads, opts.headReduce);
  const plans = new Map<string, Int32Array[]>();
  const plan = ({ length, capacity, window }: PlanInput): Int32Array[] => {
    const key = `${length}:${capacity}:${window}`;
    const cached = plans.get(key);
    if (cached) return cached;
    const prefixBudget = capacity - window;
    const base = baseTokens(opts.base, prefixBudget, `budget ${capacity} − window ${window}`);
    const result = twoStageAllocation({ scores, prefixBudget, base, cap: length - window });
    plans.set(key, result);
    return result;
  };
  const checkShape = (numLayers: number, kvHeads: number) => {
    if (numLayers !== profile.model.numLayers || kvHeads !== profile.model.numKvHeads) {
      throw new OptionError(
        `${WHERE}: the runtime reports ${numLayers} layers × ${kvHeads} KV heads, the profile has ${profile.model.numLayers} × ${profile.model.numKvHeads}`,
      );
    }
  };
  return {
    name: 'surfacelogickv-profile',
    check(input) {
      checkShape(input.numLayers, input.kvHeads);
      plan(input);
    },
    plan,
    allocate(input: AllocationInput) {
      checkShape(input.numLayers, input.kvHeads);
      return plan(input)[input.layer]!;
    },
  };
}

/** What a plan depends on: the layer's tokens and the budget fitted to them. */
export interface PlanInput {
  /** Tokens the layer holds (the prompt length, at prefill). */
  readonly length: number;
  /** Tokens per KV head on average, window included: the budget resolved for `length`. */
  readonly capacity: number;
  /** Observation window, as fitted to the budget: kept by every head on top of its prefix tokens. */
  readonly window: number;
}

/**
 * SurfaceLogicKV: each KV head keeps `base` prefix tokens, and the rest of the total budget goes
 * to the heads the profile found reading the needle (surface memorization and logic construction),
 * in proportion to their INFsc; within each head tokens are chosen by SnapKV's window scores, and
 * the window is kept. The profile's model shape is checked against the model when a run begins.
 */
export const definition = defineMethod({
  name: WHERE,
  summary:
    "Per-head budgets from a profile of each head's behaviour on needle probes (surface memorization and logic construction); within each head SnapKV's scores choose the tokens.",
  options: {
    ...windowScoreOptions(SURFACELOGICKV_DEFAULTS),
    /**
     * Required: the model's head profile, as a {@link SlkvProfile} object or the path of a JSON file
     * written by `kvsieve calibrate <model>` (read with {@link loadProfile}: Node only). A malformed
     * profile throws a {@link ProfileError} when the options are read; one made for a model of
     * another shape, when a run begins.
     */
    profile: option.custom<
      {
        /** The profile, checked. */
        profile: SlkvProfile;
        /** The path it was read from, or `'object'`: names the profile in messages and reports. */
        source: string;
      },
      'required',
      SlkvProfile | string
    >({
      presence: 'required',
      allowed: 'a profile object, or the path of a profile JSON file written by `kvsieve calibrate <model>`',
      doc: "The model's head profile (kvsieve calibrate).",
      read(v) {
        if (v === undefined) {
          throw new OptionError(
            `${WHERE}: option "profile" is required: a profile object or the path of a JSON file written by \`kvsieve calibrate <model>\``,
          );
        }
        if (typeof v === 'string') return { profile: loadProfile(v), source: v };
        const profile = parseProfile(v);
        return { profile, source: 'object' };
      },
    }),
    /**
     * Stage 1's base per KV head: a fraction `r` in [0, 1] of the per-head prefix budget (each head
     * first gets `⌊r · (budget − window)⌋` prefix tokens), or `{ tokens: n }`. Default 0.2. 1 is a
     * uniform budget (SnapKV); 0 shares everything by INFsc. A base that does not fit the budget
     * throws an `OptionError`: when read for a budget in tokens, else when a run plans.
     */
    base: option.custom<BaseBudget, 'default'>({
      presence: 'default',
      allowed: 'a fraction r in [0, 1] of the per-head prefix budget, or { tokens: n } with n ≥ 0',
      defaultText: String(SURFACELOGICKV_DEFAULTS.base),
      doc: "Stage 1: every KV head's base, a fraction of the per-head prefix budget budget − window, or { tokens: n }.",
      read(v, ctx) {
        const base = readBase(v);
        const tokens = budgetTokens(ctx.values.budget as never);
        const w = ctx.values.window as number;
        if (tokens !== undefined) baseTokens(base, tokens - w, `budget ${tokens} − window ${w}`);
        return base;
      },
    }),
    /**
     * Surface weight `α` in [0, 1]: INFsc is recomputed as `α·surface + (1 − α)·logic` from the
     * profile's rates. Default: the profile's own alpha (0.5 unless calibrated otherwise).
     */
    alpha: option.number({
      min: 0,
      max: 1,
      range: '[0, 1]',
      doc: "Recompute INFsc with this surface weight instead of the profile's own alpha.",
    }),
    /** A KV head's score from its GQA group's INFsc: `'sum'` (default) or `'max'` (its best query head). */
    headReduce: option.choice(HEAD_REDUCES, {
      default: SURFACELOGICKV_DEFAULTS.headReduce,
      doc: "How a GQA group's INFsc becomes its KV head's score.",
    }),
  },
  // In declaration order; alpha is reported even when taken from the profile.
  report: ({ headReduce, ...o }) => ({
    ...o,
    /** Reported as the profile's path, or `"<model name> (object)"` for a profile given as an object. */
    profile: o.profile.source === 'object' ? `${o.profile.profile.model.name} (object)` : o.profile.source,
    /** The surface weight in use: the option, or the profile's own alpha. */
    alpha: o.alpha ?? o.profile.profile.alpha,
    /** How a GQA group's INFsc became its KV head's score: `'sum'` or `'max'`. */
    headReduce,
  }),
  build(o) {
    const { profile, source } = o.profile;
    const inner = scoreAllocateSelect({
      name: WHERE,
      budget: o.budget,
      window: o.window,
      scorer: observationScorer({ reduce: o.gqaReduce, pooling: o.pooling, kernel: o.kernel }),
      allocator: profileAllocator({
        profile,
        base: o.base,
        headReduce: o.headReduce,
        ...(o.alpha === undefined ? {} : { alpha: o.alpha }),
      }),
    });
    return {
      ...inner,
      /** The profile this instance allocates with, checked. */
      profile,
      /**
       * Starts a run for one prompt. Throws a {@link ProfileError} when the profile was made for a
       * model with other layer, head or KV-head counts.
       */
      begin(model, prompt) {
        checkProfileMatches(profile, model, source);
        return inner.begin(model, prompt);
      },
    };
  },
});

/**
 * What {@link surfacelogickv} takes: `budget` and `profile` (required); SnapKV's `window`, `kernel`,
 * `pooling` and `gqaReduce`; `base`, `alpha` and `headReduce` (defaults in
 * {@link SURFACELOGICKV_DEFAULTS}). `budget` is per KV head on average: the total shared is
 * `budget · numKvHeads · numLayers` tokens.
 */
export type SurfaceLogicKVOptions = OptionsInput<typeof definition.options>;
/** SurfaceLogicKV with typed options. */
export const surfacelogickv = definition.create;
/** For the command line: `--option profile=PATH` plus the options above by name; unknown names rejected. */
export const createMethod = definition.createMethod;
