import { OptionError } from '../errors.js';
import type { Selection } from '../kv-cache/layer-cache.js';
import {
  type CompressionMethod,
  type DecodeContext,
  type DecodeDecision,
  type LayerDecision,
  METHOD_SPEC,
  type MethodRun,
} from './contract.js';
import { readInteger, rejectUnknownOptions } from './read.js';
import { allEntries, sinksAndRecent } from './select.js';

/**
 * A budget kept during generation. Heads may grow to `budget + slack` entries; when one reaches it,
 * its layer is evicted back to `budget` in one batch. The runtime reserves `budget + slack` rows per
 * head once after prefill and compacts in place, so the cache's allocation stays flat, and a method
 * that needs scores reads them back once per batch (every `slack` tokens), not every token.
 */
export interface DecodeBudgetOptions {
  /** Entries kept per KV head after each eviction (and at most after prefill). */
  readonly budget: number;
  /** Entries a head may hold beyond the budget before the next eviction. Default 16. */
  readonly slack?: number;
}

/** Default `slack` of a decode budget: a head may grow 16 entries past its budget before the next eviction. */
export const DECODE_SLACK_DEFAULT = 16;

/** Validated decode budget: `budget ≥ 1`, `slack ≥ 1`. */
export function readDecodeBudget(
  where: string,
  opts: Readonly<Record<string, unknown>>,
): {
  /** Entries kept per KV head after each eviction. */
  budget: number;
  /** Entries a head may hold beyond the budget; {@link DECODE_SLACK_DEFAULT} when not given. */
  slack: number;
} {
  if (opts.budget === undefined) {
    throw new OptionError(`${where}: option "budget" is required (entries kept per KV head, an integer ≥ 1)`);
  }
  const budget = readInteger(where, 'budget', opts.budget, { min: 1 });
  const slack = readInteger(where, 'slack', opts.slack ?? DECODE_SLACK_DEFAULT, { min: 1 });
  return { budget, slack };
}

/** Does any head of any layer hold `budget + slack` entries (the reserved rows are full)? */
export function decodeBudgetFull(ctx: DecodeContext, budget: number, slack: number): boolean {
  return ctx.lengths.some((lens) => lens.some((n) => n >= budget + slack));
}

/**
 * Cap a prefill decision at `budget` entries per head (sinks and most recent of what the decision
 * kept), so that decode starts within the rows it reserves. Returns the decision unchanged when it fits.
 */
export function capDecision(
  decision: LayerDecision,
  length: number,
  kvHeads: number,
  budget: number,
  sinks: number,
): LayerDecision {
  const keep: Selection =
    decision.keep === 'all' ? Array.from({ length: kvHeads }, () => allEntries(length)) : decision.keep;
  if (keep.every((sel) => sel.length <= budget)) return decision;
  const capped = keep.map((sel) => {
    const pick = sinksAndRecent(sel.length, budget, sinks);
    return Int32Array.from(pick, (j) => sel[j]!);
  });
  const note = `decode budget ${budget}: prefill kept more per head, capped to the first ${sinks} and the most recent`;
  return { ...decision, keep: capped, note: decision.note ? `${decision.note}; ${note}` : note };
}

export interface SlidingBudgetOptions extends DecodeBudgetOptions {
  /** First entries of each head always kept (attention sinks). Default 4, as StreamingLLM. */
  readonly sinks?: number;
}

/** The options {@link withDecodeBudget} accepts; any other name is refused as a typo. */
export const SLIDING_BUDGET_OPTION_NAMES = ['budget', 'slack', 'sinks'] as const;

/** Keeps every prompt token: what a sliding decode budget wraps when there is no method. */
const FULL_CACHE: CompressionMethod = {
  spec: METHOD_SPEC,
  name: 'full',
  options: {},
  begin: () => ({ observe: { window: 0 }, afterLayer: async () => ({ keep: 'all' }) }),
};

/**
 * Give any method (or the full cache: `null`) a sliding decode-time budget: prefill runs the method
 * as it is (its decision capped at `budget` per head), then during generation, whenever a head
 * reaches `budget + slack` entries, every head over `budget` keeps its first `sinks` entries and
 * its most recent ones (StreamingLLM-style). Needs no attention scores, so nothing is read back
 * during decode.
 */
export function withDecodeBudget(
  method: CompressionMethod | null,
  options: SlidingBudgetOptions,
): CompressionMethod {
  const inner = method ?? FULL_CACHE;
  const where = `${inner.name} decode budget`;
  rejectUnknownOptions(where, options, SLIDING_BUDGET_OPTION_NAMES);
  const { budget, slack } = readDecodeBudget(where, options as unknown as Record<string, unknown>);
  const sinks = readInteger(where, 'sinks', options.sinks ?? Math.min(4, budget - 1), {
    min: 0,
    max: budget - 1,
    hint: `(smaller than the budget of ${budget}, so recent tokens stay)`,
  });
  return {
    spec: inner.spec,
    name: `${inner.name}+sliding`,
    options: Object.freeze({ ...inner.options, decode: Object.freeze({ budget, slack, sinks }) }),
    begin(model, prompt): MethodRun {
      const run = inner.begin(model, prompt);
      if (run.afterDecodeStep) {
        run.dispose?.();
        throw new OptionError(
          `${where}: ${inner.name} already keeps its own decode-time budget; use it directly instead of wrapping it`,
        );
      }
      return {
        observe: { ...run.observe, decodeCapacity: budget + slack },
        async afterLayer(ctx) {
          const d = await run.afterLayer(ctx);
          return capDecision(d, ctx.length, model.numKvHeads, budget, sinks);
        },
        ...(run.dispose ? { dispose: () => run.dispose?.() } : {}),
        async afterDecodeStep(ctx): Promise<DecodeDecision | undefined> {
          if (!decodeBudgetFull(ctx, budget, slack)) return undefined;
          return ctx.lengths.map((lens) =>
            lens.some((n) => n > budget) ? Array.from(lens, (n) => sinksAndRecent(n, budget, sinks)) : null,
          );
        },
      };
    },
  };
}
