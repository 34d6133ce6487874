/**
 * Byte-level BPE merging of one pre-tokenized word, as llama.cpp's `llm_tokenizer_bpe_session`
 * does it: the word's characters start as symbols; the adjacent pair with the lowest merge rank
 * (ties: leftmost) merges first; a queued pair whose sides changed since is skipped.
 */
import { utf8Encode } from './utf8.js';

interface Bigram {
  readonly rank: number;
  readonly left: number;
  readonly right: number;
  readonly text: string;
}

/** Min-heap on (rank, left). */
class BigramHeap {
  private readonly items: Bigram[] = [];
  get size(): number {
    return this.items.length;
  }
  private static before(a: Bigram, b: Bigram): boolean {
    return a.rank < b.rank || (a.rank === b.rank && a.left < b.left);
  }
  push(x: Bigram): void {
    const a = this.items;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!BigramHeap.before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): Bigram | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && BigramHeap.before(a[l]!, a[m]!)) m = l;
        if (r < a.length && BigramHeap.before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

/** Words seen recently and their ids: prose repeats words, and merging dominates encoding time. */
const CACHE_LIMIT = 50_000;

export class BpeMerger {
  private readonly cache = new Map<string, readonly number[]>();

  /**
   * @param ranks merge rank by `"left right"` (the merge string as stored in the file)
   * @param ids token id by text
   * @param ignoreMerges whole words found in `ids` are taken as they are (Llama 3)
   */
  constructor(
    private readonly ranks: ReadonlyMap<string, number>,
    private readonly ids: ReadonlyMap<string, number>,
    private readonly ignoreMerges: boolean,
  ) {}

  /** Appends the ids of `word` (byte-level characters, one per byte) to `out`. */
  encodeWord(word: string, out: number[]): void {
    let ids = this.cache.get(word);
    if (ids === undefined) {
      ids = this.merge(word);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(word, ids);
    }
    for (const id of ids) out.push(id);
  }

  private merge(word: string): number[] {
    if (this.ignoreMerges) {
      const whole = this.ids.get(word);
      if (whole !== undefined) return [whole];
    }
    // Byte-level characters are all in the BMP, so a symbol is a run of UTF-16 units.
    const n = word.length;
    const start = Array.from({ length: n }, (_, i) => i);
    const len = new Array<number>(n).fill(1);
    const prev = Array.from({ length: n }, (_, i) => i - 1);
    const next = Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const text = (i: number) => word.substr(start[i]!, len[i]!);
    const heap = new BigramHeap();
    const addBigram = (left: number, right: number): void => {
      if (left === -1 || right === -1) return;
      const l = text(left);
      const r = text(right);
      const rank = this.ranks.get(`${l} ${r}`);
      if (rank === undefined) return;
      heap.push({ rank, left, right, text: l + r });
    };
    for (let i = 1; i < n; i++) addBigram(i - 1, i);
    while (heap.size > 0) {
      const b = heap.pop()!;
      if (len[b.left] === 0 || len[b.right] === 0) continue;
      if (text(b.left) + text(b.right) !== b.text) continue;
      len[b.left]! += len[b.right]!;
      len[b.right] = 0;
      next[b.left] = next[b.right]!;
      if (next[b.right]! >= 0) prev[next[b.right]!] = b.left;
      addBigram(prev[b.left]!, b.left);
      addBigram(b.left, next[b.left]!);
    }
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      if (len[i] === 0) continue;
      const sym = text(i);
      const id = this.ids.get(sym);
      if (id !== undefined) {
        out.push(id);
        continue;
      }
      // llama.cpp falls back to a token per byte of the symbol's own UTF-8, looking each byte up as
      // a one-byte text: only ASCII can match, anything else is dropped.
      for (const byte of utf8Encode(sym)) {
        const bid = byte < 0x80 ? this.ids.get(String.fromCharCode(byte)) : undefined;
        if (bid !== undefined) out.push(bid);
      }
    }
    return out;
  }
}
