import { fitPrompt, type MethodRun, sinksAndRecent } from '@kvsieve/core';
import { defineMethod, type OptionsInput, option } from '@kvsieve/method-kit';

export const STREAMINGLLM_DEFAULTS = { sinks: 4 } as const;

/** StreamingLLM: the first `sinks` tokens and the most recent `budget − sinks`; no scores, no queries read. */
export const definition = defineMethod({
  name: 'streamingllm',
  summary:
    'Attention sinks and a sliding window: the first sinks tokens and the most recent budget − sinks, by position alone.',
  options: {
    budget: option.budget({
      doc: 'Tokens kept per KV head, sinks included: a count, { tokens } or { ratio } of the prompt.',
    }),
    sinks: option.reserved({
      default: STREAMINGLLM_DEFAULTS.sinks,
      min: 0,
      doc: "Attention sinks: the first positions, always kept (the paper's 4). KVCache-Factory's variant (first C − w tokens and the last w) is sinks: C − w.",
    }),
  },
  build: ({ budget, sinks }) => ({
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

export type StreamingLLMOptions = OptionsInput<typeof definition.options>;
/** StreamingLLM with typed options. */
export const streamingllm = definition.create;
/** For the command line: options by name, unknown names rejected. */
export const createMethod = definition.createMethod;
