import type { TextTokenizer } from '@kvsieve/runtime';

/**
 * Tokenizes a prompt piece by piece so that the concatenated ids are exactly the prompt: a task
 * can count, cut and place tokens without re-encoding the whole text after every change. Pieces
 * are joined by one space (or by what the text itself starts with, e.g. a newline).
 */
export class SegmentEncoder {
  /** Text put before a piece that follows other text (SentencePiece adds its own space). */
  private readonly joiner: string;
  private readonly cache = new Map<string, readonly number[]>();

  constructor(
    /** The model's tokenizer; probed once at construction for how pieces join. */
    readonly tokenizer: TextTokenizer,
  ) {
    const probe = tokenizer.decode([...this.raw('a'), ...this.raw('b')]);
    this.joiner = /a\s+b/.test(probe) ? '' : ' ';
  }

  private raw(text: string): number[] {
    return this.tokenizer.encode(text, { addSpecial: false });
  }

  /** Ids of `text` at the start of a prompt (after BOS): no joining space. */
  encodeFirst(text: string): readonly number[] {
    return this.raw(text);
  }

  /** Ids of `text` as it follows earlier text. */
  encode(text: string): readonly number[] {
    let ids = this.cache.get(text);
    if (ids === undefined) {
      ids = this.raw(/^\s/.test(text) ? text : this.joiner + text);
      if (this.cache.size > 50_000) this.cache.clear();
      this.cache.set(text, ids);
    }
    return ids;
  }

  /** Ids that start a prompt: BOS when the model uses one. */
  start(): number[] {
    return this.tokenizer.bosId === null ? [] : [this.tokenizer.bosId];
  }

  /** True when the tokenizer gives `word` back unchanged (a word-level vocabulary may not know it). */
  knows(word: string): boolean {
    return this.tokenizer.decode(this.raw(word)).trim() === word;
  }

  /** Text of `ids`, trimmed. */
  decode(ids: readonly number[]): string {
    return this.tokenizer.decode(ids).trim();
  }
}
