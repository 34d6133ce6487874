import {
  type Budget,
  type CompressionMethod,
  describeBudget,
  METHOD_SPEC,
  OptionError,
  selectSinksAndRecent,
} from '@kvsieve/core';
import {
  budgetTokens,
  checkBudgetForPrompt,
  type RawOptions,
  readBudget,
  readInt,
  rejectUnknownOptions,
} from '@kvsieve/method-kit';

export interface StreamingLLMOptions {
  /** Tokens kept per KV head (sinks included): a count, `{ tokens }` or `{ ratio }` of the prompt. */
  readonly budget: Budget;
  /**
   * Attention sinks: the first positions, always kept. Default 4 (the paper). KVCache-Factory's
   * variant (first `C − w` tokens and the last `w`) is `sinks: C − w`.
   */
  readonly sinks?: number;
}

export const STREAMINGLLM_DEFAULTS = { sinks: 4 } as const;
export const STREAMINGLLM_OPTION_NAMES = ['budget', 'sinks'] as const;

/** StreamingLLM: the first `sinks` tokens and the most recent `budget − sinks`; no scores, no queries read. */
export function streamingllm(options: StreamingLLMOptions): CompressionMethod {
  const raw = options as unknown as RawOptions;
  const budget = readBudget('streamingllm', raw.budget);
  const tokens = budgetTokens(budget);
  const sinks = readInt('streamingllm', 'sinks', raw.sinks, STREAMINGLLM_DEFAULTS.sinks, {
    min: 0,
    ...(tokens !== undefined
      ? { max: tokens - 1, hint: `(smaller than the budget of ${tokens} tokens)` }
      : {}),
  });
  return {
    spec: METHOD_SPEC,
    name: 'streamingllm',
    options: Object.freeze({ budget, sinks }),
    begin(model, prompt) {
      const capacity = checkBudgetForPrompt('streamingllm', budget, 0, prompt.length);
      if (prompt.length > capacity && capacity <= sinks) {
        throw new OptionError(
          `streamingllm: option "budget" (${describeBudget(budget)}) gives ${capacity} tokens for a ${prompt.length}-token prompt, not more than the ${sinks} sinks; raise the budget or lower "sinks"`,
        );
      }
      return {
        // Positions alone decide; the one query asked for is never read. Asking for none would let a
        // runtime that only consults methods which observe something skip this one silently.
        observe: { window: 1 },
        async afterLayer(ctx) {
          if (ctx.length <= capacity) {
            return {
              keep: 'all',
              note: `${ctx.length} tokens fit the budget of ${capacity}: nothing evicted`,
            };
          }
          return { keep: selectSinksAndRecent(model.numKvHeads, ctx.length, sinks, capacity) };
        },
      };
    },
  };
}

/** For the command line: options by name, unknown names rejected. */
export function createMethod(options: Record<string, unknown>): CompressionMethod {
  rejectUnknownOptions('streamingllm', options, STREAMINGLLM_OPTION_NAMES);
  return streamingllm(options as unknown as StreamingLLMOptions);
}
