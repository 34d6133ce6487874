import { OptionError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Allocator } from './allocators.js';
import {
  type CompressionMethod,
  type LayerContext,
  type LayerDecision,
  METHOD_SPEC,
  type ModelInfo,
} from './contract.js';
import { type LayerBudget, selectTopPrefix } from './select.js';

/** Token importance for a layer: `[kvHeads, length − window]` prefix scores. The caller disposes the result. */
export interface Scorer {
  readonly name: string;
  /** Queries the scorer needs beyond the observation window. */
  readonly needsAllQueries?: boolean;
  score(ctx: LayerContext): Promise<Tensor> | Tensor;
}

/** Turns prefix scores and per-head budgets into kept indices (window included). */
export interface Selector {
  readonly name: string;
  select(ctx: LayerContext, scores: Tensor, budgets: Int32Array): Promise<LayerDecision['keep']>;
}

/** Top-k prefix positions by score per head, plus the window. */
export const topPrefixSelector: Selector = {
  name: 'top-prefix',
  select: (ctx, scores, budgets) => selectTopPrefix(ctx.backend, scores, budgets, ctx.length, ctx.window),
};

export interface ComposedMethodDefinition {
  readonly name: string;
  readonly options: Readonly<Record<string, unknown>>;
  readonly scorer: Scorer;
  readonly allocator: Allocator;
  readonly selector?: Selector;
}

/**
 * The common shape of a method: after each layer's prefill, score → allocate → select. Most
 * methods are this function plus one new part.
 */
export function scoreAllocateSelect(def: ComposedMethodDefinition): CompressionMethod {
  const selector = def.selector ?? topPrefixSelector;
  const { allocator, scorer } = def;
  return {
    spec: METHOD_SPEC,
    name: def.name,
    options: def.options,
    begin(model: ModelInfo, prompt) {
      if (!Number.isInteger(prompt.length) || prompt.length < 1) {
        throw new OptionError(`${def.name}: prompt length must be a positive integer, got ${prompt.length}`);
      }
      allocator.check(prompt.length);
      return {
        observe: { window: allocator.window, ...(scorer.needsAllQueries ? { allQueries: true } : {}) },
        async afterLayer(ctx) {
          const budget: LayerBudget = allocator.allocate({
            layer: ctx.layer,
            numLayers: ctx.numLayers,
            kvHeads: model.numKvHeads,
            length: ctx.length,
          });
          if (budget === null)
            return { keep: 'all', note: `${ctx.length} tokens fit the budget: nothing evicted` };
          const scores = await scorer.score(ctx);
          try {
            return { keep: await selector.select(ctx, scores, budget) };
          } finally {
            scores.dispose();
          }
        },
      };
    },
  };
}
