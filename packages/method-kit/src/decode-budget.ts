import {
  type CompressionMethod,
  type DecodeContext,
  type DecodeDecision,
  type LayerDecision,
  OptionError,
  type Selection,
} from '@kvsieve/core';
import { type RawOptions, readInt, rejectUnknownOptions } from './options.js';

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

export const DECODE_SLACK_DEFAULT = 16;

/** Validated decode budget: `budget ≥ 1`, `slack ≥ 1`. */
export function readDecodeBudget(where: string, opts: RawOptions): { budget: number; slack: number } {
  if (opts.budget === undefined) {
    throw new OptionError(`${where}: option "budget" is required (entries kept per KV head, an integer ≥ 1)`);
  }
  const budget = readInt(where, 'budget', opts.budget, 0, { min: 1 });
  const slack = readInt(where, 'slack', opts.slack, DECODE_SLACK_DEFAULT, { min: 1 });
  return { budget, slack };
}

/** Does any head of any layer hold `budget + slack` entries (the reserved rows are full)? */
export function decodeBudgetFull(ctx: DecodeContext, budget: number, slack: number): boolean {
  return ctx.lengths.some((lens) => lens.some((n) => n >= budget + slack));
}

/** All entries of a head: `[0, n)`. */
export function allEntries(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/** StreamingLLM's choice among `n` entries: the first `sinks` and the last `budget − sinks`. */
export function sinksAndRecent(n: number, budget: number, sinks: number): Int32Array {
  if (n <= budget) return allEntries(n);
  const recent = budget - sinks;
  return Int32Array.from({ length: budget }, (_, j) => (j < sinks ? j : n - recent + (j - sinks)));
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

export const SLIDING_BUDGET_OPTION_NAMES = ['budget', 'slack', 'sinks'] as const;

/**
 * Give any method a sliding decode-time budget: prefill runs the method as it is (its decision
 * capped at `budget` per head), then during generation, whenever a head reaches `budget + slack`
 * entries, every head over `budget` keeps its first `sinks` entries and its most recent ones
 * (StreamingLLM-style). Needs no attention scores, so nothing is read back during decode.
 */
export function withDecodeBudget(
  method: CompressionMethod,
  options: SlidingBudgetOptions,
): CompressionMethod {
  const where = `${method.name} decode budget`;
  const raw = options as unknown as RawOptions;
  rejectUnknownOptions(where, raw, SLIDING_BUDGET_OPTION_NAMES);
  const { budget, slack } = readDecodeBudget(where, raw);
  const sinks = readInt(where, 'sinks', raw.sinks, Math.min(4, budget - 1), {
    min: 0,
    max: budget - 1,
    hint: `(smaller than the budget of ${budget}, so recent tokens stay)`,
  });
  return {
    spec: method.spec,
    name: `${method.name}+sliding`,
    options: Object.freeze({ ...method.options, decode: Object.freeze({ budget, slack, sinks }) }),
    begin(model, prompt) {
      const inner = method.begin(model, prompt);
      if (inner.afterDecodeStep) {
        throw new OptionError(
          `${where}: ${method.name} already keeps its own decode-time budget; use it directly instead of wrapping it`,
        );
      }
      return {
        observe: { ...inner.observe, decodeCapacity: budget + slack },
        async afterLayer(ctx) {
          const d = await inner.afterLayer(ctx);
          return capDecision(d, ctx.length, model.numKvHeads, budget, sinks);
        },
        ...(inner.dispose ? { dispose: () => inner.dispose?.() } : {}),
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
