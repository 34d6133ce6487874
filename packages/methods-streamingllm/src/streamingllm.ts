import { fitPrompt, type MethodRun, sinksAndRecent } from '@kvsieve/core';
import { defineMethod, type OptionsInput, option } from '@kvsieve/method-kit';

/** StreamingLLM's default: 4 attention sinks, as in the paper (Xiao et al., 2023). */
export const STREAMINGLLM_DEFAULTS = {
  /** Sink tokens: the first positions of the prompt, always kept. */
  sinks: 4,
} as const;

/** StreamingLLM: the first `sinks` tokens and the most recent `budget − sinks`; no scores, no queries read. */
export const definition = defineMethod({
  name: 'streamingllm',
  summary:
    'Attention sinks and a sliding window: the first sinks tokens and the most recent budget − sinks, by position alone.',
  options: {
    /**
     * Tokens kept per KV head, sinks included (`C`): a count, `{ tokens: n }` or `{ ratio: r }` of the
     * prompt length. Required. A prompt within the budget is kept whole.
     */
    budget: option.budget({
      doc: 'Tokens kept per KV head, sinks included: a count, { tokens } or { ratio } of the prompt.',
    }),
    /**
     * Attention sinks `s`: the first `s` positions, always kept; the rest of the budget goes to the
     * most recent `C − s` tokens. Default 4. Given, it must be smaller than a budget in tokens;
     * defaulted, it is halved to fit. KVCache-Factory's variant is `sinks: C − w`.
     */
    sinks: option.reserved({
      default: STREAMINGLLM_DEFAULTS.sinks,
      min: 0,
      doc: "Attention sinks: the first positions, always kept (the paper's 4). KVCache-Factory's variant (first C − w tokens and the last w) is sinks: C − w.",
    }),
  },
  build: ({ budget, sinks }) => ({
    /**
     * Starts a run for one prompt: every layer keeps the same positions in every KV head (the
     * sinks and the most recent tokens), chosen from positions alone; no queries are read.
     */
    begin(model, prompt): MethodRun {
      const rule = { where: 'streamingllm', name: 'sinks', min: 0 };
      const fit = fitPrompt(rule, budget, sinks, prompt.length);
      return {
        // Positions alone decide: no queries are read.
        observe: { window: 0 },
        async afterLayer(ctx) {
          const f = ctx.length === prompt.length ? fit : fitPrompt(rule, budget, sinks, ctx.length);
          if (!f.compresses) {
            return {
              keep: 'all',
              note: `${ctx.length} tokens fit the budget of ${f.capacity}: nothing evicted`,
            };
          }
          const row = sinksAndRecent(ctx.length, f.capacity, f.reserved);
          const keep = Array.from({ length: model.numKvHeads }, () => row.slice());
          return f.note ? { keep, note: f.note } : { keep };
        },
      };
    },
  }),
});

/** What {@link streamingllm} takes: `budget` (required) and `sinks` (default {@link STREAMINGLLM_DEFAULTS}). */
export type StreamingLLMOptions = OptionsInput<typeof definition.options>;
/** StreamingLLM with typed options. */
export const streamingllm = definition.create;
/** For the command line: options by name, unknown names rejected. */
export const createMethod = definition.createMethod;
