import { OptionError } from '@kvsieve/core';
import type { TextTokenizer } from './tokenizer.js';
import { utf8Decode, utf8Encode } from './utf8.js';

/** llama.cpp token types (tokenizer.ggml.token_type). */
const TYPE_CONTROL = 3;
const TYPE_BYTE = 6;

export interface SpmVocab {
  readonly tokens: readonly string[];
  readonly scores: readonly number[];
  readonly types: readonly number[];
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly unkId: number;
  readonly addBos: boolean;
  readonly addSpacePrefix: boolean;
  readonly chatTemplate: string | null;
}

interface Bigram {
  left: number;
  right: number;
  score: number;
  size: number;
}

/** Max-heap on score, ties to the leftmost pair, as llama.cpp's SPM tokenizer orders them. */
class BigramQueue {
  private items: Bigram[] = [];
  private before(a: Bigram, b: Bigram): boolean {
    return a.score > b.score || (a.score === b.score && a.left < b.left);
  }
  push(x: Bigram): void {
    const a = this.items;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): Bigram | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.before(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * The SentencePiece-style tokenizer llama.cpp uses for GGUF files whose `tokenizer.ggml.model` is
 * `llama`: characters merge pairwise by the score of the merged piece, highest first; characters
 * left without a piece fall back to `<0xXX>` byte tokens.
 */
export class SpmTokenizer implements TextTokenizer {
  /** Tokens in the vocabulary (`tokenizer.ggml.tokens`). */
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosIds: readonly number[];
  readonly chatTemplate: string | null;
  private readonly ids = new Map<string, number>();
  private readonly byteIds = new Int32Array(256).fill(-1);

  constructor(private readonly vocab: SpmVocab) {
    this.vocabSize = vocab.tokens.length;
    this.bosId = vocab.bosId;
    this.eosIds = vocab.eosId === null ? [] : [vocab.eosId];
    this.chatTemplate = vocab.chatTemplate;
    vocab.tokens.forEach((t, id) => {
      if (vocab.types[id] === TYPE_BYTE) {
        const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(t);
        if (m) this.byteIds[Number.parseInt(m[1]!, 16)] = id;
      } else if (!this.ids.has(t)) {
        this.ids.set(t, id);
      }
    });
  }

  encode(text: string, opts: { addSpecial?: boolean } = {}): number[] {
    if (typeof text !== 'string') throw new OptionError(`encode: text must be a string, got ${typeof text}`);
    const out: number[] = [];
    if ((opts.addSpecial ?? true) && this.vocab.addBos && this.bosId !== null) out.push(this.bosId);
    if (text.length === 0) return out;
    const normalized = (this.vocab.addSpacePrefix ? ` ${text}` : text).replaceAll(' ', '\u2581');
    const sym = Array.from(normalized).map((ch, i, all) => ({
      text: ch,
      prev: i - 1,
      next: i + 1 < all.length ? i + 1 : -1,
    }));
    const queue = new BigramQueue();
    const tryAdd = (left: number, right: number): void => {
      if (left < 0 || right < 0) return;
      const merged = sym[left]!.text + sym[right]!.text;
      const id = this.ids.get(merged);
      if (id === undefined) return;
      queue.push({ left, right, score: this.vocab.scores[id] ?? 0, size: merged.length });
    };
    for (let i = 1; i < sym.length; i++) tryAdd(i - 1, i);
    for (let b = queue.pop(); b; b = queue.pop()) {
      const l = sym[b.left]!;
      const r = sym[b.right]!;
      // Stale entries: one side was merged away or grew since this pair was queued.
      if (l.text.length === 0 || r.text.length === 0 || l.text.length + r.text.length !== b.size) continue;
      l.text += r.text;
      r.text = '';
      l.next = r.next;
      if (r.next >= 0) sym[r.next]!.prev = b.left;
      tryAdd(l.prev, b.left);
      tryAdd(b.left, l.next);
    }
    for (let i = 0; i >= 0 && i < sym.length; i = sym[i]!.next) {
      const s = sym[i]!;
      const id = this.ids.get(s.text);
      if (id !== undefined) {
        out.push(id);
        continue;
      }
      for (const byte of utf8Encode(s.text)) {
        const bid = this.byteIds[byte]!;
        out.push(bid >= 0 ? bid : this.vocab.unkId);
      }
    }
    return out;
  }

  decode(ids: readonly number[], opts: { skipSpecial?: boolean } = {}): string {
    const skip = opts.skipSpecial ?? true;
    const bytes: number[] = [];
    for (const id of ids) {
      const t = this.vocab.tokens[id];
      if (t === undefined)
        throw new OptionError(`decode: token id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
      const type = this.vocab.types[id];
      if (type === TYPE_BYTE) {
        bytes.push(Number.parseInt(t.slice(3, 5), 16));
      } else if (type === TYPE_CONTROL) {
        if (!skip) bytes.push(...utf8Encode(t));
      } else {
        bytes.push(...utf8Encode(t.replaceAll('\u2581', ' ')));
      }
    }
    return utf8Decode(Uint8Array.from(bytes));
  }

  piece(id: number): string {
    return this.vocab.tokens[id] ?? '';
  }
}
