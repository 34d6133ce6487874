import {
  fitPrompt,
  type LayerContext,
  type LayerDecision,
  type MethodRun,
  type ModelInfo,
  OptionError,
  resolveBudget,
} from '@kvsieve/core';
import { defineMethod } from '@kvsieve/method-kit';
import {
  autoComputeSlots,
  checkOptions,
  computeBelowMemory,
  prefixSlots,
  type ResolvedOptions,
  STRUCTKV_OPTIONS,
} from './options.js';
import {
  accumulateCentrality,
  attentionEntropy,
  detectPivot,
  inDegree,
  type LayerSignals,
  pivotLag,
  topKMass,
  variance,
} from './stats.js';

const WHERE = 'structkv';

/**
 * The `count` best prefix positions by score (ties to the earlier position), plus the `window`
 * last tokens of a layer holding `n`; ascending.
 */
export function selectWithWindow(scores: Float64Array, count: number, n: number, window: number): Int32Array {
  const P = scores.length;
  const order = Array.from({ length: P }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  const picked = order.slice(0, Math.min(count, P)).sort((a, b) => a - b);
  const out = new Int32Array(picked.length + window);
  out.set(picked);
  for (let t = 0; t < window; t++) out[picked.length + t] = n - window + t;
  return out;
}

/** Pivot range of the automatic rule for a model, defaults filled in and checked against its depth. */
export function pivotRange(
  o: ResolvedOptions,
  numLayers: number,
): {
  /** Earliest pivot layer (0-based). */
  min: number;
  /** Latest pivot layer; below `min` when the model is too shallow for any pivot. */
  max: number;
} {
  const lag = pivotLag(o.difference);
  const min = o.minPivot ?? (o.difference === 'backward' ? 2 : 1);
  const max = o.maxPivot ?? numLayers - 2 - lag;
  for (const [name, v] of [
    ['minPivot', o.minPivot],
    ['maxPivot', o.maxPivot],
  ] as const) {
    if (v !== undefined && v > numLayers - 1) {
      throw new OptionError(
        `${WHERE}: option "${name}" is ${v}, but the model has layers 0..${numLayers - 1}; lower it`,
      );
    }
  }
  return { min, max };
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return '–';
  return Math.abs(x) >= 1e-3 || x === 0 ? x.toFixed(4) : x.toExponential(3);
}

/** Everything a run learned about its pivot, for reports. */
export interface PivotReport {
  /** The pivot layer `L*`, or null when none was chosen (yet). */
  readonly pivot: number | null;
  /** How it was chosen. */
  readonly reason: 'fixed' | 'peak' | 'latest' | null;
  /** Per-layer statistics measured before the pivot (auto mode). */
  readonly signals: readonly LayerSignals[];
  /** Transition scores `T` (entry k: change from layer k − 1 to k; entry 0 NaN). */
  readonly scores: Float64Array;
  /** Tokens propagated past the pivot (null: nothing propagated). */
  readonly propagated: number | null;
}

/** A StructKV run: the contract's run, plus what it learned about the pivot. */
export interface StructKVRun extends MethodRun {
  /** The pivot so far; final once prefill is done. */
  pivotReport(): PivotReport;
}

/**
 * StructKV (reconstruction of arXiv 2604.06746): each layer's in-degree from the last `window`
 * queries, a decayed global centrality over the layers up to a pivot found online, and two
 * budgets: the layers after the pivot compute only the top-`computeBudget` tokens by centrality
 * (plus the window, at their original positions), while every layer stores its own
 * top-`budget` tokens by its own in-degree (plus the window).
 */
export const definition = defineMethod({
  name: 'structkv',
  summary:
    'Centrality aggregated across layers up to a pivot found per input; layers after the pivot compute only the most central tokens (compute budget), while every layer stores its own top tokens (memory budget).',
  options: STRUCTKV_OPTIONS,
  check: checkOptions,
  build: (o) => ({
    /**
     * Starts a run for one prompt. Throws an `OptionError` when `pivot`,
     * `minPivot` or `maxPivot` names a layer the model lacks, or when `computeBudget` resolves
     * below `budget` for this prompt's length.
     */
    begin: (model: ModelInfo, prompt: { readonly length: number }) => beginRun(o, model, prompt.length),
  }),
});

/** StructKV with typed options (all optional). */
export const structkv = definition.create;
/** For the command line: options by name, unknown names rejected. */
export const createMethod = definition.createMethod;

function beginRun(o: ResolvedOptions, model: ModelInfo, L: number): StructKVRun {
  if (!Number.isInteger(L) || L < 1) {
    throw new OptionError(`${WHERE}: prompt length must be a positive integer, got ${L}`);
  }
  // The window counts in both budgets unless windowInBudget is false: fitted to the memory
  // budget once per prompt (the smaller of the two), as every method fits its window.
  const fit = o.windowInBudget
    ? fitPrompt({ where: WHERE, name: 'window', min: 1 }, o.budget, Math.min(o.window, L), L)
    : null;
  const w = fit?.reserved ?? Math.min(o.window, L);
  const mem = prefixSlots(o.budget, w, o.windowInBudget, L);
  const comp =
    o.computeBudget === 'auto'
      ? autoComputeSlots(mem, w, o.windowInBudget, L)
      : prefixSlots(o.computeBudget, w, o.windowInBudget, L);
  if (comp.total < mem.total) throw computeBelowMemory(comp.total, mem.total, ` for a ${L}-token prompt`);
  const N = model.numLayers;
  if (o.pivot !== 'auto' && o.pivot > N - 1) {
    throw new OptionError(
      `${WHERE}: option "pivot" is ${o.pivot}, but the model has layers 0..${N - 1}; choose one of them or "auto"`,
    );
  }
  const range = o.pivot === 'auto' ? pivotRange(o, N) : { min: o.pivot, max: o.pivot };
  const lag = o.pivot === 'auto' ? pivotLag(o.difference) : 0;
  const autoActive = o.pivot === 'auto' && range.min <= range.max;

  const signals: LayerSignals[] = [];
  let scores: Float64Array = new Float64Array(0);
  let c: Float64Array | null = null; // centrality up to the current layer
  let cPrev: Float64Array | null = null; // … and up to the layer before
  let pivot: number | null = null;
  let reason: PivotReport['reason'] = null;
  let propagated: number | null = null;

  const storeDecision = (
    n: number,
    window: number,
    s: Float64Array | null,
  ): { keep: LayerDecision['keep']; note: string } => {
    if (n <= mem.total || s === null) {
      // "nothing evicted" is every method's note for a prompt within its budget; a layer after
      // the pivot that stores all it computed has lost the tokens propagation dropped.
      return {
        keep: 'all',
        note: n === L ? `${n} tokens fit the budget: nothing evicted` : `stored all ${n}`,
      };
    }
    const row = selectWithWindow(s, mem.prefix, n, window);
    return {
      keep: Array.from({ length: model.numKvHeads }, () => row.slice()),
      note: `stored ${row.length} of ${n}`,
    };
  };

  return {
    observe: { window: fit?.reserved ?? o.window },
    pivotReport: () => ({ pivot, reason, signals: [...signals], scores, propagated }),
    async afterLayer(ctx: LayerContext): Promise<LayerDecision> {
      const { layer, length: n, window } = ctx;
      const prefix = n - window;
      const before =
        pivot === null && (o.pivot === 'auto' ? autoActive && layer <= range.max + lag : layer <= o.pivot);
      const needS = prefix > 0 && (n > mem.total || before);
      const s = needS
        ? inDegree(await ctx.prefixScores({ reduce: 'sum' }).readF32(), model.numKvHeads, window)
        : null;
      const parts: string[] = [];
      let propagate: Int32Array | undefined;
      if (before && s !== null) {
        cPrev = c;
        c = accumulateCentrality(c, s, o.decay);
        let declared: number | null = null;
        if (o.pivot === 'auto') {
          const k = Math.min(prefix, resolveBudget(o.topK, prefix));
          const sig: LayerSignals = {
            entropy: await attentionEntropy(ctx.backend, ctx.windowQueries, ctx.keys),
            mass: topKMass(s, k),
            variance: variance(s),
          };
          signals.push(sig);
          const found = detectPivot(signals, o.weights, o.difference, range.min, range.max);
          scores = found.scores;
          parts.push(
            `H=${fmt(sig.entropy)} ρ=${fmt(sig.mass)} V=${fmt(sig.variance)} T=${fmt(scores[layer] ?? Number.NaN)}`,
          );
          if (found.pivot !== null) {
            declared = found.pivot;
            reason = 'peak';
          } else if (layer === range.max + lag && o.noPeak === 'latest') {
            declared = range.max;
            reason = 'latest';
          }
        } else if (layer === o.pivot) {
          declared = layer;
          reason = 'fixed';
        }
        if (declared !== null) {
          pivot = declared;
          const cAtPivot = declared === layer ? c : cPrev;
          parts.push(
            reason === 'peak'
              ? `pivot L*=${declared} (T peaked at the change into layer ${layer - 1})`
              : reason === 'latest'
                ? `pivot L*=${declared} (no peak of T by maxPivot ${range.max}: latest allowed)`
                : `pivot L*=${declared} (fixed)`,
          );
          if (layer === N - 1) parts.push('no deeper layer to propagate to');
          else if (n <= comp.total) parts.push(`${n} tokens fit the compute budget: all propagated`);
          else {
            propagate = selectWithWindow(cAtPivot!, comp.prefix, n, window);
            propagated = propagate.length;
            parts.push(`propagating ${propagate.length} of ${n} tokens to layers ${layer + 1}..${N - 1}`);
          }
        } else if (o.pivot === 'auto' && layer === range.max + lag && o.noPeak === 'none') {
          parts.push(`no peak of T by maxPivot ${range.max}: nothing propagated (noPeak "none")`);
        }
      } else if (o.pivot === 'auto' && !autoActive) {
        parts.push(`no pivot possible: pivot range [${range.min}, ${range.max}] is empty for ${N} layers`);
      } else if (pivot !== null && propagated !== null) {
        parts.push(`after pivot ${pivot}: computed ${n} tokens`);
      }
      const stored = storeDecision(n, window, s);
      parts.push(stored.note);
      if (fit?.note && layer === 0) parts.push(fit.note);
      return { keep: stored.keep, ...(propagate ? { propagate } : {}), note: parts.join('; ') };
    },
  };
}

/** A StructKV method instance: its runs report their pivot. */
export type StructKVMethod = ReturnType<typeof structkv>;
