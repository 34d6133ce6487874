import { ShapeError } from '@kvsieve/core';

/** Logits as the runtime returns them, or any numeric vector. */
export type Logits = ArrayLike<number>;

function checkLogits(logits: Logits, name: string): void {
  if (logits.length === 0)
    throw new ShapeError(`${name}: empty logits; expected one value per vocabulary entry`);
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    // +Infinity or NaN would make every probability NaN; -Infinity is a legal "impossible" token.
    if (Number.isNaN(v) || v === Number.POSITIVE_INFINITY) {
      throw new ShapeError(
        `${name}: logit ${i} is ${v}; expected finite values (or -Infinity for a masked token)`,
      );
    }
  }
  let anyFinite = false;
  for (let i = 0; i < logits.length && !anyFinite; i++) anyFinite = logits[i]! > Number.NEGATIVE_INFINITY;
  if (!anyFinite) throw new ShapeError(`${name}: every logit is -Infinity; no token has any probability`);
}

/**
 * log-softmax in f64: `x_i − max − log Σ exp(x_j − max)`. Subtracting the max first keeps every
 * exponent ≤ 0, so large logits cannot overflow and the result is exactly invariant to a shift
 * whenever the shift is exact in f64.
 */
export function logSoftmax(logits: Logits, name = 'logits'): Float64Array {
  checkLogits(logits, name);
  const n = logits.length;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) if (logits[i]! > max) max = logits[i]!;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(logits[i]! - max);
  const lse = Math.log(sum);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = logits[i]! - max - lse;
  return out;
}

/** Probabilities from logits (f64, via {@link logSoftmax}). */
export function softmax(logits: Logits, name = 'logits'): Float64Array {
  return logSoftmax(logits, name).map(Math.exp);
}

/**
 * KL(p ‖ q) in nats, where p and q are the softmaxes of the two logit vectors:
 * `Σ p_i (log p_i − log q_i)`. Terms with `p_i = 0` contribute 0 (the limit), so a token the
 * reference rules out never counts; a token p allows and q rules out gives +Infinity.
 */
export function klDivergence(pLogits: Logits, qLogits: Logits): number {
  if (pLogits.length !== qLogits.length) {
    throw new ShapeError(
      `klDivergence: p has ${pLogits.length} logits and q has ${qLogits.length}; both must cover the same vocabulary`,
    );
  }
  return klFromLogProbs(logSoftmax(pLogits, 'klDivergence p'), logSoftmax(qLogits, 'klDivergence q'));
}

/** KL(p ‖ q) in nats from two log-probability vectors of the same length (see {@link klDivergence}). */
export function klFromLogProbs(logP: Float64Array, logQ: Float64Array): number {
  if (logP.length !== logQ.length) {
    throw new ShapeError(
      `klFromLogProbs: p has ${logP.length} entries and q has ${logQ.length}; both must cover the same vocabulary`,
    );
  }
  let kl = 0;
  for (let i = 0; i < logP.length; i++) {
    const lp = logP[i]!;
    if (lp === Number.NEGATIVE_INFINITY) continue;
    kl += Math.exp(lp) * (lp - logQ[i]!);
  }
  // Rounding can leave a tiny negative sum for near-identical distributions; KL is ≥ 0.
  return Math.max(kl, 0);
}

/** Index of the largest value; ties go to the lowest index (as the runtime's greedy sampler). */
export function argmax(values: Logits): number {
  if (values.length === 0) throw new ShapeError('argmax: empty vector; expected at least one value');
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
