import { OptionError, seededRandom } from '@kvsieve/core';

/** How the next token is picked from the logits. A value out of range throws an `OptionError`. */
export interface SamplingOptions {
  /** 0 (default) decodes greedily; higher values flatten the distribution. */
  readonly temperature?: number;
  /** Keep only the k most likely tokens (0 or absent: all). */
  readonly topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1 or absent: all). */
  readonly topP?: number;
  /** Seed of the sampling random stream (default 0), so sampled runs repeat. */
  readonly seed?: number;
}

/** Index of the largest logit; ties go to the lower id (as llama.cpp's greedy sampler). */
export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

export function validateSampling(o: SamplingOptions): void {
  const t = o.temperature ?? 0;
  if (!(t >= 0) || !Number.isFinite(t))
    throw new OptionError(`temperature must be a finite number ≥ 0, got ${o.temperature}`);
  const k = o.topK ?? 0;
  if (!Number.isInteger(k) || k < 0)
    throw new OptionError(`topK must be a whole number ≥ 0 (0 = off), got ${o.topK}`);
  const p = o.topP ?? 1;
  if (!(p > 0 && p <= 1)) throw new OptionError(`topP must be in (0, 1], got ${o.topP}`);
  const s = o.seed ?? 0;
  if (!Number.isInteger(s)) throw new OptionError(`seed must be an integer, got ${o.seed}`);
}

/** A sampler: from all logits, or from the top-k candidates when `topK` is set. */
export interface Sampler {
  (logits: Float32Array): number;
  /**
   * The same draw from the `topK` most likely tokens alone, most likely first (ties: lower id
   * first), as the device's `topk` returns them: with top-k set, nothing else affects the pick, so
   * a decode step need not read the whole vocabulary's logits back.
   */
  fromCandidates(ids: Int32Array, logits: Float32Array): number;
}

/** Picks next tokens from logits: greedy at temperature 0, else temperature → top-k → top-p → draw. */
export function createSampler(o: SamplingOptions = {}): Sampler {
  validateSampling(o);
  const temperature = o.temperature ?? 0;
  const topK = o.topK ?? 0;
  const topP = o.topP ?? 1;
  const random = seededRandom(o.seed ?? 0);
  const sample = (logits: Float32Array): number => {
    if (temperature === 0) return argmax(logits);
    let order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]! || a - b);
    if (topK > 0) order = order.slice(0, topK);
    return draw(
      order,
      order.map((i) => logits[i]!),
    );
  };
  // `order`: token ids, most likely first; `values`: their logits.
  const draw = (ids: readonly number[], values: readonly number[]): number => {
    let order = ids;
    const max = values[0]!;
    let probs = values.map((v) => Math.exp((v - max) / temperature));
    let sum = probs.reduce((a, b) => a + b, 0);
    if (topP < 1) {
      let acc = 0;
      let keep = 0;
      while (keep < probs.length && acc < topP * sum) acc += probs[keep++]!;
      order = order.slice(0, Math.max(1, keep));
      probs = probs.slice(0, order.length);
      sum = probs.reduce((a, b) => a + b, 0);
    }
    let r = random() * sum;
    for (let i = 0; i < order.length; i++) {
      r -= probs[i]!;
      if (r < 0) return order[i]!;
    }
    return order[order.length - 1]!;
  };
  return Object.assign(sample, {
    fromCandidates(ids: Int32Array, logits: Float32Array): number {
      if (temperature === 0) return ids[0]!;
      const n = topK > 0 ? Math.min(topK, ids.length) : ids.length;
      return draw(Array.from(ids.subarray(0, n)), Array.from(logits.subarray(0, n)));
    },
  });
}
