import {
  type Allocator,
  type Budget,
  type ModelInfo,
  OptionError,
  observationScorer,
  type Pooling,
  type ReduceOp,
  resolveBudget,
} from '@kvsieve/core';
import {
  budgetTokens,
  type ComposableMethod,
  composable,
  type RawOptions,
  readChoice,
  readNumber,
  readWindowScoreOptions,
  rejectUnknownOptions,
  WINDOW_SCORE_OPTION_NAMES,
} from '@kvsieve/method-kit';
import { HEAD_REDUCES, type HeadReduce, kvHeadScores, twoStageAllocation } from './allocate.js';
import { checkProfileMatches, computeInfsc, loadProfile, parseProfile, type SlkvProfile } from './profile.js';

/** Stage 1's base per KV head: a fraction of the per-head prefix budget, or a token count. */
export type BaseBudget = number | { readonly tokens: number };

export interface SurfaceLogicKVOptions {
  /** Tokens kept per KV head on average, window included: `C` in the total `C · Hkv · N`. */
  readonly budget: Budget;
  /** The model's head profile: a parsed profile, or the path of a profile JSON file (Node). */
  readonly profile: SlkvProfile | string;
  /** Stage 1: `r` in [0, 1] of the per-head prefix budget `C − w`, or `{ tokens: n }`. Default 0.2. */
  readonly base?: BaseBudget;
  /** Recompute INFsc with this surface weight instead of the profile's own alpha. */
  readonly alpha?: number;
  /** How a GQA group's INFsc becomes its KV head's score. Default 'sum'. */
  readonly headReduce?: HeadReduce;
  /** SnapKV token choice within each head: observation window `w`. Default 32. */
  readonly window?: number;
  readonly kernel?: number;
  readonly pooling?: Pooling;
  readonly gqaReduce?: ReduceOp;
}

export const SURFACELOGICKV_DEFAULTS = {
  base: 0.2,
  headReduce: 'sum',
  window: 32,
  kernel: 5,
  pooling: 'avgpool',
  gqaReduce: 'mean',
} as const;

export const SURFACELOGICKV_OPTION_NAMES = [
  ...WINDOW_SCORE_OPTION_NAMES,
  'profile',
  'base',
  'alpha',
  'headReduce',
] as const;

const WHERE = 'surfacelogickv';

function readBase(value: unknown): BaseBudget {
  const v = value === undefined ? SURFACELOGICKV_DEFAULTS.base : value;
  const allowed = 'a fraction r in [0, 1] of the per-head prefix budget, or { tokens: n } with n ≥ 0';
  if (typeof v === 'number') return readNumber(WHERE, 'base', v, 0, { min: 0, max: 1, text: '[0, 1]' });
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
 * per prompt length and read out layer by layer.
 */
export function profileAllocator(opts: {
  readonly profile: SlkvProfile;
  readonly budget: Budget;
  readonly window: number;
  readonly base: BaseBudget;
  readonly alpha?: number;
  readonly headReduce: HeadReduce;
}): Allocator & { plan(length: number): Int32Array[] | null } {
  const { profile, budget, window } = opts;
  const infsc =
    opts.alpha === undefined || opts.alpha === profile.alpha
      ? profile.infsc
      : computeInfsc(profile.heads, opts.alpha);
  const scores = kvHeadScores(infsc, profile.model.numKvHeads, opts.headReduce);
  const plans = new Map<number, Int32Array[] | null>();
  const plan = (length: number): Int32Array[] | null => {
    const cached = plans.get(length);
    if (cached !== undefined) return cached;
    const capacity = resolveBudget(budget, length);
    let result: Int32Array[] | null = null;
    if (length > capacity) {
      if (capacity <= window) {
        throw new OptionError(
          `${WHERE}: option "budget" gives ${capacity} tokens per head for a ${length}-token prompt, not more than the window (${window}); raise the budget or lower the window`,
        );
      }
      const prefixBudget = capacity - window;
      const base = baseTokens(opts.base, prefixBudget, `budget ${capacity} − window ${window}`);
      result = twoStageAllocation({ scores, prefixBudget, base, cap: length - window });
    }
    plans.set(length, result);
    return result;
  };
  return {
    name: 'surfacelogickv-profile',
    window,
    check: (length) => void plan(length),
    plan,
    allocate({ layer, numLayers, kvHeads, length }) {
      if (numLayers !== profile.model.numLayers || kvHeads !== profile.model.numKvHeads) {
        throw new OptionError(
          `${WHERE}: the runtime reports ${numLayers} layers × ${kvHeads} KV heads, the profile has ${profile.model.numLayers} × ${profile.model.numKvHeads}`,
        );
      }
      const p = plan(length);
      return p === null ? null : p[layer]!;
    },
  };
}

/**
 * SurfaceLogicKV: each KV head keeps `base` prefix tokens, and the rest of the total budget goes
 * to the heads the profile found reading the needle (surface memorization and logic construction),
 * in proportion to their INFsc; within each head tokens are chosen by SnapKV's window scores, and
 * the window is kept. The profile's model shape is checked against the model when a run begins.
 */
export function surfacelogickv(options: SurfaceLogicKVOptions): ComposableMethod & { profile: SlkvProfile } {
  const raw = options as unknown as RawOptions;
  const o = readWindowScoreOptions(WHERE, raw, SURFACELOGICKV_DEFAULTS);
  if (raw.profile === undefined) {
    throw new OptionError(
      `${WHERE}: option "profile" is required: a profile object or the path of a JSON file written by \`kvsieve calibrate <model>\``,
    );
  }
  const source = typeof raw.profile === 'string' ? raw.profile : 'object';
  const profile = typeof raw.profile === 'string' ? loadProfile(raw.profile) : parseProfile(raw.profile);
  const base = readBase(raw.base);
  const alpha =
    raw.alpha === undefined
      ? undefined
      : readNumber(WHERE, 'alpha', raw.alpha, profile.alpha, { min: 0, max: 1, text: '[0, 1]' });
  const headReduce = readChoice(
    WHERE,
    'headReduce',
    raw.headReduce,
    SURFACELOGICKV_DEFAULTS.headReduce,
    HEAD_REDUCES,
  );
  const tokens = budgetTokens(o.budget);
  if (tokens !== undefined) baseTokens(base, tokens - o.window, `budget ${tokens} − window ${o.window}`);
  const allocator = profileAllocator({
    profile,
    budget: o.budget,
    window: o.window,
    base,
    headReduce,
    ...(alpha === undefined ? {} : { alpha }),
  });
  const inner = composable({
    name: WHERE,
    options: {
      ...o,
      profile: source === 'object' ? `${profile.model.name} (object)` : source,
      base,
      alpha: alpha ?? profile.alpha,
      headReduce,
    },
    budget: o.budget,
    window: o.window,
    scorer: observationScorer({ reduce: o.gqaReduce, pooling: o.pooling, kernel: o.kernel }),
    allocator,
  });
  return {
    ...inner,
    profile,
    begin(model: ModelInfo, prompt) {
      checkProfileMatches(profile, model, source);
      return inner.begin(model, prompt);
    },
  };
}

/** For the command line: `--option profile=PATH` plus the options above by name; unknown names rejected. */
export function createMethod(options: Record<string, unknown>): ComposableMethod {
  rejectUnknownOptions(WHERE, options, SURFACELOGICKV_OPTION_NAMES);
  return surfacelogickv(options as unknown as SurfaceLogicKVOptions);
}
