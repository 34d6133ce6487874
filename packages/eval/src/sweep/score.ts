import type { Metric } from '../tasks/types.js';

/** RULER's string_match_all for one sample: the fraction of references found in the prediction (any case). */
export function stringMatchAll(prediction: string, references: readonly string[]): number {
  if (references.length === 0) return 0;
  const p = prediction.toLowerCase();
  return references.filter((r) => p.includes(r.toLowerCase())).length / references.length;
}

/** RULER's string_match_part for one sample: 1 when any reference is in the prediction (any case). */
export function stringMatchPart(prediction: string, references: readonly string[]): number {
  const p = prediction.toLowerCase();
  return references.some((r) => p.includes(r.toLowerCase())) ? 1 : 0;
}

/** A prediction's score in [0, 1] under `metric`: {@link stringMatchAll} for `'all'`, {@link stringMatchPart} for `'part'`. */
export function scorePrediction(metric: Metric, prediction: string, references: readonly string[]): number {
  return metric === 'all' ? stringMatchAll(prediction, references) : stringMatchPart(prediction, references);
}
