/** What the runtime needs from a tokenizer, whichever file it came from. */
export interface TextTokenizer {
  /** Tokens in the vocabulary: ids run `0 … vocabSize − 1`. */
  readonly vocabSize: number;
  /** Beginning-of-sequence id when the model's tokenizer adds one. */
  readonly bosId: number | null;
  /** Ids that end generation (EOS and, for chat models, end-of-turn tokens). */
  readonly eosIds: readonly number[];
  /** Chat template (Jinja) shipped with the model, if any. */
  readonly chatTemplate: string | null;
  /** Text to ids; `addSpecial` (default true) adds what the model expects, such as BOS. */
  encode(text: string, opts?: { addSpecial?: boolean }): number[];
  /** Ids to text; special tokens are dropped unless `skipSpecial` is false. */
  decode(ids: readonly number[], opts?: { skipSpecial?: boolean }): string;
  /** Text of a token by id (for display). */
  piece(id: number): string;
}
