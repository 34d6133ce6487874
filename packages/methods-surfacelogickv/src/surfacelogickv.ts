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
export type BaseBudget = number | { readonly tokens: number };

export const SURFACELOGICKV_DEFAULTS = {
  base: 0.2,
  headReduce: 'sum',
  window: 32,
  kernel: 5,
  pooling: 'avgpool',
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
}): Allocator & { plan(input: PlanInput): Int32Array[] } {
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
  readonly length: number;
  readonly capacity: number;
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
    profile: option.custom<{ profile: SlkvProfile; source: string }, 'required', SlkvProfile | string>({
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
    alpha: option.number({
      min: 0,
      max: 1,
      range: '[0, 1]',
      doc: "Recompute INFsc with this surface weight instead of the profile's own alpha.",
    }),
    headReduce: option.choice(HEAD_REDUCES, {
      default: SURFACELOGICKV_DEFAULTS.headReduce,
      doc: "How a GQA group's INFsc becomes its KV head's score.",
    }),
  },
  // In declaration order; alpha is reported even when taken from the profile.
  report: ({ headReduce, ...o }) => ({
    ...o,
    profile: o.profile.source === 'object' ? `${o.profile.profile.model.name} (object)` : o.profile.source,
    alpha: o.alpha ?? o.profile.profile.alpha,
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
      profile,
      begin(model, prompt) {
        checkProfileMatches(profile, model, source);
        return inner.begin(model, prompt);
      },
    };
  },
});

export type SurfaceLogicKVOptions = OptionsInput<typeof definition.options>;
/** SurfaceLogicKV with typed options. */
export const surfacelogickv = definition.create;
/** For the command line: `--option profile=PATH` plus the options above by name; unknown names rejected. */
export const createMethod = definition.createMethod;
