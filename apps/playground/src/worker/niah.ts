import {
  KVSIEVE_RECALL_TEMPLATE,
  NOISE_HAYSTACK,
  RULER_TEMPLATE,
  SegmentEncoder,
  TASKS,
} from '@kvsieve/eval';
import type { Model } from '@kvsieve/runtime';

export interface NiahPrompt {
  readonly prompt: string;
  readonly expected: readonly string[];
  readonly promptTokens: number;
}

/**
 * A single-needle prompt from @kvsieve/eval's niah_single task: the kvsieve-recall wording with
 * its key words for the default model (what it was trained on), RULER's wording for any other,
 * over RULER's noise haystack. The same seed, length and depth give the same prompt as
 * `kvsieve eval` in Node. The answer prefix ends the prompt so the model continues with the value.
 */
export function niahPrompt(
  model: Model,
  o: { length: number; depth: number; seed: number; keyWords: readonly string[] | null },
): NiahPrompt {
  const template = o.keyWords ? { ...KVSIEVE_RECALL_TEMPLATE, words: o.keyWords } : RULER_TEMPLATE;
  const enc = new SegmentEncoder(model.tokenizer);
  const sample = TASKS.get('niah_single')!.sample(
    { enc, template, haystack: NOISE_HAYSTACK },
    { index: 0, length: o.length, depth: o.depth, seed: o.seed },
  );
  const sep = /^\s/.test(sample.answerPrefix) || sample.input.endsWith('\n') ? '' : ' ';
  return {
    prompt: `${sample.input}${sep}${sample.answerPrefix}`,
    expected: sample.outputs,
    promptTokens: sample.length,
  };
}
