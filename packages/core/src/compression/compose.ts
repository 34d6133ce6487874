import type { Tensor } from '../tensor/tensor.js';
import { type Allocator, uniformAllocator } from './allocators.js';
import { type Budget, fitPrompt, type ReservedRule } from './budget.js';
import { type CompressionMethod, type LayerContext, type LayerDecision, METHOD_SPEC } from './contract.js';
import { selectTopPrefix } from './select.js';

/** Token importance for a layer: `[kvHeads, length − window]` prefix scores. The caller disposes the result. */
export interface Scorer {
  /** Short name for reports (e.g. `'window'`, `'heavy-hitter'`). */
  readonly name: string;
  /** Queries the scorer needs beyond the observation window. */
  readonly needsAllQueries?: boolean;
  /**
   * Scores of the layer's prefix tokens, f32 `[kvHeads, length − window]`, higher meaning more
   * important; the returned tensor is new and the caller (the composed method) disposes it. Called
   * only for layers that compress.
   */
  score(ctx: LayerContext): Promise<Tensor> | Tensor;
}

/** Turns prefix scores and per-head budgets into kept indices (window included). */
export interface Selector {
  /** Short name for reports (e.g. `'top-prefix'`, or AdaKV's `'head-adaptive(top-prefix, alpha 0.2)'`). */
  readonly name: string;
  /**
   * Kept entries per KV head, ascending, window positions included, from `scores [kvHeads, length −
   * window]` and `budgets` (prefix tokens per head, from the allocator). Must not dispose `scores`:
   * the caller does.
   */
  select(ctx: LayerContext, scores: Tensor, budgets: Int32Array): Promise<LayerDecision['keep']>;
}

/** Top-k prefix positions by score per head, plus the window. */
export const topPrefixSelector: Selector = {
  name: 'top-prefix',
  select: (ctx, scores, budgets) => selectTopPrefix(ctx.backend, scores, budgets, ctx.length, ctx.window),
};

/** The parts {@link scoreAllocateSelect} builds a method from; options must already be validated. */
export interface Composition {
  /** The method's name, for messages and reports. */
  readonly name: string;
  /** Tokens kept per KV head, window included. */
  readonly budget: Budget;
  /** Observation window: the last `window` tokens, always kept and never scored. */
  readonly window: number;
  /** Scores each layer's prefix tokens. */
  readonly scorer: Scorer;
  /** Default: the same budget for every layer and head. */
  readonly allocator?: Allocator;
  /** Default: top-k prefix positions per head. */
  readonly selector?: Selector;
  /** Reported options; default `{ budget, window }`. */
  readonly options?: Readonly<Record<string, unknown>>;
}

/** A method made by {@link scoreAllocateSelect}, its parts visible for wrappers (AdaKV) and checkers. */
export interface ComposedMethod extends CompressionMethod {
  /** The scorer the method was built with. */
  readonly scorer: Scorer;
  /** The allocator in use (the uniform one when the composition gave none). */
  readonly allocator: Allocator;
  /** The composition's selector; absent when it gave none and the top-prefix selector is used. */
  readonly selector?: Selector;
  /** The budget per KV head as given (window included), before fitting to a prompt. */
  readonly budget: Budget;
  /** The observation window as given; a prompt whose budget it does not fit gets a smaller one. */
  readonly window: number;
}

/**
 * The common shape of a method: after each layer's prefill, score → allocate → select. The budget
 * is fitted to each prompt here (see `fitPrompt`: a layer within the budget is kept whole and says
 * so; a window that does not fit a short prompt's budget is shrunk and says so), so allocators and
 * selectors only ever see a layer that compresses.
 */
export function scoreAllocateSelect(c: Composition): ComposedMethod {
  const selector = c.selector ?? topPrefixSelector;
  const allocator = c.allocator ?? uniformAllocator;
  const { scorer, budget, window } = c;
  const rule: ReservedRule = { where: c.name, name: 'window', min: 1 };
  return {
    spec: METHOD_SPEC,
    name: c.name,
    options: c.options ?? { budget, window },
    scorer,
    allocator,
    ...(c.selector ? { selector: c.selector } : {}),
    budget,
    window,
    begin(model, prompt) {
      const fit = fitPrompt(rule, budget, window, prompt.length);
      if (fit.compresses) {
        allocator.check?.({
          numLayers: model.numLayers,
          kvHeads: model.numKvHeads,
          length: prompt.length,
          capacity: fit.capacity,
          window: fit.reserved,
        });
      }
      return {
        observe: { window: fit.reserved, ...(scorer.needsAllQueries ? { allQueries: true } : {}) },
        async afterLayer(ctx) {
          const f = ctx.length === prompt.length ? fit : fitPrompt(rule, budget, window, ctx.length);
          if (!f.compresses)
            return { keep: 'all', note: `${ctx.length} tokens fit the budget: nothing evicted` };
          const budgets = allocator.allocate({
            layer: ctx.layer,
            numLayers: ctx.numLayers,
            kvHeads: model.numKvHeads,
            length: ctx.length,
            capacity: f.capacity,
            window: ctx.window,
          });
          const scores = await scorer.score(ctx);
          try {
            const keep = await selector.select(ctx, scores, budgets);
            return f.note ? { keep, note: f.note } : { keep };
          } finally {
            scores.dispose();
          }
        },
      };
    },
  };
}
