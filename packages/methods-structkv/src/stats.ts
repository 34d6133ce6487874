import type { Backend, Tensor } from '@kvsieve/core';

/**
 * Per-layer in-degree `S⁽ˡ⁾_j = (1/w) Σ_t Σ_h a⁽ˡ'ʰ⁾_{t,j}` of the prefix tokens `j < n − w`, from
 * window scores already summed within each GQA group (`[kvHeads, prefix]`, row-major).
 * Accumulated in f64 so the sum over heads does not depend on their order more than it must.
 */
export function inDegree(groupSums: Float32Array, kvHeads: number, window: number): Float64Array {
  const prefix = groupSums.length / kvHeads;
  const out = new Float64Array(prefix);
  for (let h = 0; h < kvHeads; h++) for (let j = 0; j < prefix; j++) out[j]! += groupSums[h * prefix + j]!;
  for (let j = 0; j < prefix; j++) out[j]! /= window;
  return out;
}

/** One step of the running centrality: `λ · previous + S⁽ˡ⁾` (the first layer starts from zero). */
export function accumulateCentrality(
  previous: Float64Array | null,
  s: Float64Array,
  decay: number,
): Float64Array {
  const out = Float64Array.from(s);
  if (previous) for (let j = 0; j < out.length; j++) out[j]! += decay * previous[j]!;
  return out;
}

/** Global in-degree centrality `C_j = Σ_{l ≤ L*} λ^(L* − l) · S⁽ˡ⁾_j` over the given layers 0..L*. */
export function centrality(layers: readonly Float64Array[], decay: number): Float64Array {
  let c: Float64Array | null = null;
  for (const s of layers) c = accumulateCentrality(c, s, decay);
  return c ?? new Float64Array(0);
}

/** Share of the in-degree mass held by the `k` largest entries (0 when there is no mass). */
export function topKMass(s: Float64Array, k: number): number {
  let total = 0;
  for (const v of s) total += v;
  if (!(total > 0)) return 0;
  const sorted = Float64Array.from(s).sort().reverse();
  let top = 0;
  for (let i = 0; i < Math.min(k, sorted.length); i++) top += sorted[i]!;
  return top / total;
}

/** Population variance (divides by n); 0 for fewer than one entry. */
export function variance(s: Float64Array): number {
  const n = s.length;
  if (n === 0) return 0;
  let mean = 0;
  for (const v of s) mean += v;
  mean /= n;
  let acc = 0;
  for (const v of s) acc += (v - mean) * (v - mean);
  return acc / n;
}

/**
 * Mean Shannon entropy (nats) of the window queries' attention rows over all `n` keys, causal inside
 * the window, averaged over every query head and window query. Computed on the backend per KV head
 * (a `[G·w, n]` block at a time); only three numbers per row come back:
 * `H = logsumexp(s) − Σ a·s` with `logsumexp(s) = max s − log(max a)` (the largest probability sits
 * at the largest logit), so no `exp`/`log` op is needed on the device.
 */
export async function attentionEntropy(
  backend: Backend,
  windowQueries: Tensor,
  keys: Tensor,
): Promise<number> {
  const [H, w, d] = windowQueries.shape as [number, number, number];
  const [Hkv, n] = keys.shape as [number, number];
  const G = H / Hkv;
  const mask = new Float32Array(G * w * n);
  for (let g = 0; g < G; g++)
    for (let t = 0; t < w; t++) {
      const row = (g * w + t) * n;
      for (let j = n - w + t + 1; j < n; j++) mask[row + j] = -1e30;
    }
  const maskT = backend.upload(mask, [G * w, n], 'f32', 'structkv entropy mask');
  const scale = 1 / Math.sqrt(d);
  let total = 0;
  try {
    for (let kv = 0; kv < Hkv; kv++) {
      const qIdx = backend.upload(
        Int32Array.from({ length: G }, (_, i) => kv * G + i),
        [G],
        'i32',
        'structkv heads',
      );
      const kIdx = backend.upload([kv], [1], 'i32', 'structkv kv head');
      const q3 = backend.gatherRows(windowQueries, qIdx);
      const k3 = backend.gatherRows(keys, kIdx);
      qIdx.dispose();
      kIdx.dispose();
      const logits = backend.matmul(q3.reshape([G * w, d]), k3.reshape([n, d]), { transposeB: true });
      q3.dispose();
      k3.dispose();
      const scaled = backend.scale(logits, scale);
      logits.dispose();
      const s = backend.add(scaled, maskT);
      scaled.dispose();
      const a = backend.softmax(s);
      const as = backend.mul(a, s);
      const sMax = backend.reduceLast(s, 'max');
      const aMax = backend.reduceLast(a, 'max');
      const asSum = backend.reduceLast(as, 'sum');
      for (const t of [s, a, as]) t.dispose();
      const [sm, am, es] = await Promise.all([sMax.readF32(), aMax.readF32(), asSum.readF32()]);
      for (const t of [sMax, aMax, asSum]) t.dispose();
      for (let r = 0; r < G * w; r++) total += sm[r]! - Math.log(am[r]!) - es[r]!;
    }
  } finally {
    maskT.dispose();
  }
  return total / (H * w);
}

/** The three per-layer statistics the pivot score is built from. */
export interface LayerSignals {
  /** Mean attention entropy of the window rows (nats). */
  readonly entropy: number;
  /** Top-k share of the in-degree mass. */
  readonly mass: number;
  /** Variance of the in-degree `S⁽ˡ⁾`. */
  readonly variance: number;
}

/** Weights of `∇̄(−H)`, `∇̄(ρ)` and `∇̄(V)` in the transition score `T`. */
export type PivotWeights = readonly [entropy: number, mass: number, variance: number];

/**
 * Transition scores of layers `0..n−1` seen so far: entry `k ≥ 1` scores the change from layer `k − 1`
 * to layer `k`; entry 0 is NaN (no change arrives at the first layer). Each signal's changes are
 * divided by the largest absolute change of that signal among the layers seen so far (0 stays 0),
 * so the three terms share the scale [−1, 1] before they are weighted:
 * `T_k = w_H·∇̄(−H)_k + w_ρ·∇̄(ρ)_k + w_V·∇̄(V)_k`.
 */
export function transitionScores(signals: readonly LayerSignals[], weights: PivotWeights): Float64Array {
  const n = signals.length;
  const out = new Float64Array(n).fill(Number.NaN);
  if (n < 2) return out;
  const series: ((s: LayerSignals) => number)[] = [(s) => -s.entropy, (s) => s.mass, (s) => s.variance];
  const deltas = series.map((f) => {
    const dlt = new Float64Array(n);
    let max = 0;
    for (let k = 1; k < n; k++) {
      dlt[k] = f(signals[k]!) - f(signals[k - 1]!);
      max = Math.max(max, Math.abs(dlt[k]!));
    }
    if (max > 0) for (let k = 1; k < n; k++) dlt[k]! /= max;
    return dlt;
  });
  for (let k = 1; k < n; k++)
    out[k] = weights[0] * deltas[0]![k]! + weights[1] * deltas[1]![k]! + weights[2] * deltas[2]![k]!;
  return out;
}

/**
 * How the paper's `L* = argmax_l T_l + 1` indexes `T`:
 * - 'backward': `T_l` is the change arriving at layer `l` (from `l − 1`), so `L*` is the layer after
 *   the one the sharpest change arrives at;
 * - 'forward': `T_l` is the change leaving layer `l` (to `l + 1`), so `L*` is the layer the sharpest
 *   change arrives at.
 */
export type PivotDifference = 'backward' | 'forward';
/** Every {@link PivotDifference}, in the order the command line lists them. */
export const PIVOT_DIFFERENCES: readonly PivotDifference[] = ['backward', 'forward'];

/**
 * Layers between a pivot and the layer at which the online rule can declare it: the peak of `T` is
 * confirmed one transition later, i.e. at pivot + 0 ('backward') or pivot + 1 ('forward').
 */
export function pivotLag(difference: PivotDifference): number {
  return difference === 'backward' ? 0 : 1;
}

/**
 * The online rule, run after each layer `l = signals.length − 1`: with transitions `1..l` known
 * (entry k = change from layer k − 1 to k, normalised over those seen), transition `m = l − 1`
 * is a peak when `T_m > T_l` and (`m = 1` or `T_m ≥ T_{m−1}`): `T` rose to `m` and fell after it,
 * one layer of look-ahead. The pivot is then `m + 1` ('backward') or `m` ('forward'), accepted when
 * it lies in `[minPivot, maxPivot]`. Returns the pivot declared at this layer, or null.
 */
export function detectPivot(
  signals: readonly LayerSignals[],
  weights: PivotWeights,
  difference: PivotDifference,
  minPivot: number,
  maxPivot: number,
): {
  /** The pivot declared at this layer (0-based), or null: no peak yet, or one outside the range. */
  pivot: number | null;
  /** The transition scores `T` of the layers so far (see {@link transitionScores}). */
  scores: Float64Array;
} {
  const scores = transitionScores(signals, weights);
  const l = signals.length - 1;
  const m = l - 1;
  if (m < 1) return { pivot: null, scores };
  const peak = scores[m]! > scores[l]! && (m === 1 || scores[m]! >= scores[m - 1]!);
  const pivot = difference === 'backward' ? m + 1 : m;
  return { pivot: peak && pivot >= minPivot && pivot <= maxPivot ? pivot : null, scores };
}
