/** How a prediction is scored against the references (RULER's two metrics). */
export type Metric = 'all' | 'part';

/** One prompt to run and score; the fields RULER's JSONL files carry, plus what a run needs. */
export interface TaskSample {
  /** Task name. */
  readonly task: string;
  /** Sample number within its task, length and depth. */
  readonly index: number;
  /** Prompt text (the answer prefix is in `answerPrefix`, as in RULER's files). */
  readonly input: string;
  /** Text the prompt ends with, after which the model answers. */
  readonly answerPrefix: string;
  /** Reference strings. */
  readonly outputs: readonly string[];
  /** Prompt tokens (with BOS and the answer prefix) when `ids` is set; the file's count otherwise. */
  readonly length: number;
  /** Needle depth in percent, or null for tasks without one. */
  readonly depth: number | null;
  /** Exact prompt ids when the sample was generated; files are tokenized when run. */
  readonly ids?: readonly number[];
  /** How predictions are scored against `outputs`. */
  readonly metric: Metric;
  /**
   * Later questions asked in turn after the model's previous answer (which stays in the cache),
   * each with its own references; `outputs` then holds the first question's.
   */
  readonly followUps?: readonly FollowUp[];
  /** Tokens to generate at most. */
  readonly maxNewTokens: number;
}

/** A question asked after the previous answer. */
export interface FollowUp {
  /** Question and answer prefix as text. */
  readonly text: string;
  /** Their ids, as they follow the previous answer. */
  readonly ids: readonly number[];
  /** This question's reference strings. */
  readonly outputs: readonly string[];
}
