import { type CompressionMethod, type KVCache, OptionError } from '@kvsieve/core';
import type { Model } from '@kvsieve/runtime';
import { argmax, klFromLogProbs, logSoftmax } from './divergence.js';

/** One compression configuration to compare against the full cache. */
export interface FidelityCandidate {
  /** Row label (e.g. `snapkv`). */
  readonly name: string;
  /** The compression method to prefill with; its decode-time rules, if any, run while it is fed. */
  readonly method: CompressionMethod;
  /** Human-readable parameters for the table (e.g. `window 32, kernel 5`). */
  readonly params?: string;
  /** Budget label for the table (e.g. `25%`). */
  readonly budget?: string;
}

/**
 * What {@link runFidelity} compares. Checked before any work: an `OptionError` for an empty prompt
 * or candidate list, `tokens` < 1, prompt + tokens past the context, or two candidates with the
 * same name, budget and params.
 */
export interface FidelityOptions {
  /** The loaded model; it runs once with the full cache and once per candidate. */
  readonly model: Model;
  /** Prompt token ids. */
  readonly prompt: readonly number[];
  /** Tokens to generate with the full cache and to teacher-force into each compressed cache. */
  readonly tokens: number;
  /** Configurations to compare, in table order; at least one. */
  readonly candidates: readonly FidelityCandidate[];
  /**
   * Positions the model is trusted with (default: the model's `maxPositions`). Pass the context
   * the model was trained with when its metadata claims more (stories260K: 512 vs 2048).
   */
  readonly maxContext?: number;
  /** Called after the reference run and after each candidate (for progress lines). */
  readonly onProgress?: (done: number, total: number, label: string) => void;
}

/** Cache size after prefill. */
export interface CacheSize {
  /** Allocated bytes (`KVCache.bytes()`). */
  readonly allocated: number;
  /** Bytes of entries held (`KVCache.usedBytes()`). */
  readonly used: number;
  /** Entries per layer, summed over KV heads. */
  readonly keptPerLayer: readonly number[];
  /** Entries per layer and KV head. */
  readonly keptPerHead: readonly Int32Array[];
}

/** The full-cache run every candidate is compared against. */
export interface FidelityReference {
  /** The greedy continuation: `tokens` ids. */
  readonly continuation: readonly number[];
  /** Log-probabilities of each step's next-token distribution (step 0: after the prompt). */
  readonly logProbs: readonly Float64Array[];
  /** The full cache's size after prefill: what every candidate's `usedRatio` divides by. */
  readonly cache: CacheSize;
  /** Wall-clock seconds of the reference run (prefill and generation). */
  readonly seconds: number;
}

/** How closely one candidate follows the full cache over the reference continuation. */
export interface CandidateFidelity {
  /** The candidate's name. */
  readonly name: string;
  /** The candidate's `params`, or `''`. */
  readonly params: string;
  /** The candidate's `budget` label, or `''`. */
  readonly budget: string;
  /** Fraction of steps whose argmax equals the full cache's token. */
  readonly top1Agreement: number;
  /** Steps whose argmax equals the full cache's token. */
  readonly agreeing: number;
  /** Mean over steps of KL(full ‖ compressed), in nats. */
  readonly meanKl: number;
  /** Largest KL(full ‖ compressed) of any step, in nats. */
  readonly maxKl: number;
  /** KL(full ‖ compressed) of each step. */
  readonly klPerStep: Float64Array;
  /** First step whose argmax differs (-1: none). */
  readonly firstMismatch: number;
  /** The candidate's cache size after prefill. */
  readonly cache: CacheSize;
  /** `cache.used / reference.cache.used`. */
  readonly usedRatio: number;
  /** Notes the method left on its layer decisions (e.g. "nothing evicted"), deduplicated. */
  readonly notes: readonly string[];
  /** Wall-clock seconds of the candidate's prefill and teacher-forced steps. */
  readonly seconds: number;
}

/** What {@link runFidelity} returns; {@link fidelityTable} renders it. */
export interface FidelityReport {
  /** Prompt length in tokens. */
  readonly promptTokens: number;
  /** Steps compared: the length of the reference continuation. */
  readonly tokens: number;
  /** The full-cache run. */
  readonly reference: FidelityReference;
  /** One entry per candidate, in the order given. */
  readonly results: readonly CandidateFidelity[];
}

function cacheSize(cache: KVCache): CacheSize {
  const keptPerHead = cache.lengths();
  return {
    allocated: cache.bytes(),
    used: cache.usedBytes(),
    keptPerHead,
    keptPerLayer: keptPerHead.map((h) => h.reduce((a, n) => a + n, 0)),
  };
}

function checkOptions(o: FidelityOptions): void {
  const max = o.maxContext ?? o.model.config.maxPositions;
  if (!Number.isInteger(max) || max < 2 || max > o.model.config.maxPositions) {
    throw new OptionError(
      `fidelity: maxContext must be an integer in [2, ${o.model.config.maxPositions}] (the model's positions), got ${o.maxContext}`,
    );
  }
  if (o.prompt.length < 1) throw new OptionError('fidelity: the prompt is empty; give at least one token id');
  if (!Number.isInteger(o.tokens) || o.tokens < 1) {
    throw new OptionError(`fidelity: tokens must be a positive integer, got ${o.tokens}`);
  }
  // The last generated token is never fed back, so the deepest position used is prompt + tokens − 2.
  if (o.prompt.length + o.tokens > max) {
    throw new OptionError(
      `fidelity: prompt (${o.prompt.length}) + tokens (${o.tokens}) = ${o.prompt.length + o.tokens} exceeds the context of ${max}; shorten the prompt or generate fewer tokens`,
    );
  }
  if (o.candidates.length === 0)
    throw new OptionError('fidelity: candidates is empty; give at least one method');
  const seen = new Set<string>();
  for (const c of o.candidates) {
    const key = `${c.name}\u0000${c.budget ?? ''}\u0000${c.params ?? ''}`;
    if (seen.has(key)) {
      throw new OptionError(
        `fidelity: candidate ${JSON.stringify(c.name)} (budget ${c.budget ?? '-'}, params ${c.params ?? '-'}) is listed twice; give each a distinct name, budget or params`,
      );
    }
    seen.add(key);
  }
}

/**
 * Greedy continuation with the full cache, then each candidate teacher-forced on it: prefill the
 * prompt with the candidate's compression, feed the full cache's tokens one by one with
 * the session at their original positions, and compare every step's next-token distribution with
 * the full cache's (top-1 agreement; KL(full ‖ compressed) via f64 log-softmax). A candidate with
 * decode-time rules applies them while it is fed, as it would in use.
 */
export async function runFidelity(o: FidelityOptions): Promise<FidelityReport> {
  checkOptions(o);
  const { model, prompt, tokens: T } = o;
  const N = prompt.length;
  const total = o.candidates.length + 1;

  let t0 = performance.now();
  const full = await model.start(prompt);
  const continuation: number[] = [];
  const refLogProbs: Float64Array[] = [];
  let fullSize: CacheSize;
  try {
    fullSize = cacheSize(full.cache);
    let logits = full.logits;
    for (let t = 0; t < T; t++) {
      refLogProbs.push(logSoftmax(logits, `full cache step ${t}`));
      const next = argmax(logits);
      continuation.push(next);
      if (t + 1 < T) logits = (await full.step(next)).logits!;
    }
  } finally {
    full.dispose();
  }
  const reference: FidelityReference = {
    continuation,
    logProbs: refLogProbs,
    cache: fullSize,
    seconds: (performance.now() - t0) / 1000,
  };
  o.onProgress?.(1, total, 'full cache');

  const results: CandidateFidelity[] = [];
  for (const [i, cand] of o.candidates.entries()) {
    t0 = performance.now();
    const pre = await model.start(prompt, { method: cand.method });
    const kl = new Float64Array(T);
    let agreeing = 0;
    let firstMismatch = -1;
    let size: CacheSize;
    try {
      size = cacheSize(pre.cache);
      let logits = pre.logits;
      for (let t = 0; t < T; t++) {
        kl[t] = klFromLogProbs(refLogProbs[t]!, logSoftmax(logits, `${cand.name} step ${t}`));
        if (argmax(logits) === continuation[t]) agreeing++;
        else if (firstMismatch < 0) firstMismatch = t;
        if (t + 1 < T) logits = (await pre.step(continuation[t]!)).logits!;
      }
    } finally {
      pre.dispose();
    }
    const notes = [...new Set(pre.layers.flatMap((l) => (l.note ? [l.note] : [])))];
    results.push({
      name: cand.name,
      params: cand.params ?? '',
      budget: cand.budget ?? '',
      top1Agreement: agreeing / T,
      agreeing,
      meanKl: kl.reduce((a, v) => a + v, 0) / T,
      maxKl: kl.reduce((a, v) => Math.max(a, v), 0),
      klPerStep: kl,
      firstMismatch,
      cache: size,
      usedRatio: size.used / fullSize.used,
      notes,
      seconds: (performance.now() - t0) / 1000,
    });
    o.onProgress?.(i + 2, total, `${cand.name} ${cand.budget ?? ''}`.trim());
  }
  return { promptTokens: N, tokens: T, reference, results };
}
