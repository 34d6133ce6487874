import {
  type Allocator,
  type Budget,
  type CompressionMethod,
  type Scorer,
  type Selector,
  scoreAllocateSelect,
} from '@kvsieve/core';
import { checkBudgetForPrompt } from './options.js';

/**
 * A method built as score → allocate → select, with its parts exposed so that wrappers (AdaKV) can
 * reuse the scorer and allocator, and checkers (conformance) can see the scores behind a selection.
 */
export interface ComposableMethod extends CompressionMethod {
  readonly scorer: Scorer;
  readonly allocator: Allocator;
  readonly selector?: Selector;
  /** The per-KV-head budget (window included) and window the allocator was built from. */
  readonly budget: Budget;
  readonly window: number;
}

export interface ComposableDefinition {
  readonly name: string;
  readonly options: Readonly<Record<string, unknown>>;
  readonly scorer: Scorer;
  readonly allocator: Allocator;
  readonly selector?: Selector;
  readonly budget: Budget;
  readonly window: number;
}

/**
 * core's `scoreAllocateSelect`, plus a per-prompt budget check whose message names the method and
 * the option, and the parts kept visible on the returned method.
 */
export function composable(def: ComposableDefinition): ComposableMethod {
  const inner = scoreAllocateSelect(def);
  return {
    spec: inner.spec,
    name: def.name,
    options: Object.freeze({ ...def.options }),
    scorer: def.scorer,
    allocator: def.allocator,
    ...(def.selector ? { selector: def.selector } : {}),
    budget: def.budget,
    window: def.window,
    begin(model, prompt) {
      checkBudgetForPrompt(def.name, def.budget, def.window, prompt.length);
      return inner.begin(model, prompt);
    },
  };
}
