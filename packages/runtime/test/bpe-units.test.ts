import { describe, expect, it } from 'vitest';
import type { GgufValue } from '../src/io/gguf.js';
import type { BpeTokenizer } from '../src/tokenizer/bpe.js';
import { BpeMerger } from '../src/tokenizer/bpe-merge.js';
import { tokenizerFromGguf } from '../src/tokenizer/gguf-vocab.js';
import { PRE_TOKENIZERS, preTokenize } from '../src/tokenizer/pretokenize.js';
import { partition } from '../src/tokenizer/special.js';
import {
  byteLevelTables,
  CPT_CONTROL,
  CPT_LETTER,
  CPT_MARK,
  CPT_NUMBER,
  CPT_PUNCTUATION,
  CPT_SEPARATOR,
  CPT_SYMBOL,
  CPT_UNDEFINED,
  CPT_WHITESPACE,
  cptFlags,
} from '../src/tokenizer/unicode.js';
import { tinyBpeMeta } from './fixtures/bpe-gguf.js';
import type { GgufMeta } from './fixtures/gguf-writer.js';

function fromMeta(meta: GgufMeta): BpeTokenizer {
  return tokenizerFromGguf(
    { get: (k) => meta[k]?.value as GgufValue | undefined },
    'tiny.gguf',
  ) as BpeTokenizer;
}

describe('code point classes match llama.cpp’s Unicode 15.1 tables', () => {
  it('has llama.cpp’s count of code points in every category, and its 25 whitespace code points', () => {
    // Totals of llama.cpp's unicode_ranges_flags (src/unicode-data.cpp). A JavaScript engine on a
    // Unicode newer than 17 assigns more code points; extend AFTER_15_1 in unicode.ts then.
    const want: Record<number, number> = {
      [CPT_UNDEFINED]: 824718,
      [CPT_NUMBER]: 1831,
      [CPT_LETTER]: 136726,
      [CPT_SEPARATOR]: 19,
      [CPT_MARK]: 2450,
      [CPT_PUNCTUATION]: 842,
      [CPT_SYMBOL]: 7775,
      [CPT_CONTROL]: 139751,
    };
    const got: Record<number, number> = {};
    let ws = 0;
    for (let cp = 0; cp < 0x110000; cp++) {
      const f = cptFlags(cp);
      got[f & 0xff] = (got[f & 0xff] ?? 0) + 1;
      if (f & CPT_WHITESPACE) ws++;
    }
    expect(got).toEqual(want);
    expect(ws).toBe(25);
  }, 60_000);

  it('treats U+0085 as whitespace and U+FEFF as not (unlike JavaScript’s \\s)', () => {
    expect(cptFlags(0x85) & CPT_WHITESPACE).toBeTruthy();
    expect(cptFlags(0xfeff) & CPT_WHITESPACE).toBe(0);
    expect(cptFlags(0x10d40)).toBe(CPT_UNDEFINED); // a Garay digit, Unicode 16
  });

  it('maps every byte to a distinct visible character, printable ASCII to itself', () => {
    const { toChar, toByte } = byteLevelTables();
    expect(new Set(toChar).size).toBe(256);
    expect(toChar[0x41]).toBe('A');
    expect(toChar[0x20]).toBe('\u0120');
    expect(toChar[0x0a]).toBe('\u010a');
    for (let b = 0; b < 256; b++) expect(toByte.get(toChar[b]!)).toBe(b);
  });
});

describe('pre-tokenizers split as llama.cpp’s expressions (hand-derived cases)', () => {
  const split = (pre: string, text: string) => preTokenize(text, PRE_TOKENIZERS[pre]!);

  it('gpt-2: contractions, a space joined to the next word or number, whitespace before a word kept apart', () => {
    expect(split('gpt-2', "Hello world's 123  \n x")).toEqual([
      'Hello',
      ' world',
      "'s",
      ' 123',
      '  \n',
      ' x',
    ]);
    expect(split('gpt-2', "DON'T")).toEqual(['DON', "'", 'T']);
  });

  it('llama-bpe: case-insensitive contractions, digits in threes, newlines ending whitespace runs', () => {
    expect(split('llama-bpe', "I'M 12345 \n\n  x!!\n")).toEqual([
      'I',
      "'M",
      ' ',
      '123',
      '45',
      ' \n\n',
      ' ',
      ' x',
      '!!\n',
    ]);
  });

  it('qwen2: every digit alone', () => {
    expect(split('qwen2', 'x 2024!')).toEqual(['x', ' ', '2', '0', '2', '4', '!']);
  });

  it('smollm: digits isolated first, then GPT-2 on the rest', () => {
    expect(split('smollm', 'ab12 c3')).toEqual(['ab', '1', '2', ' c', '3']);
  });

  it('default: punctuation runs, then GPT-2, then number runs, then ASCII digit triples', () => {
    expect(split('default', "Hi, you're #1: 12345 ok")).toEqual([
      'Hi',
      ',',
      ' you',
      "'",
      're',
      ' ',
      '#',
      '1',
      ':',
      ' ',
      '123',
      '45',
      ' ok',
    ]);
  });

  it('keeps astral code points whole and loses nothing', () => {
    const text = '🦙🦙 \u{10d4a}x 𝟘𝟙';
    for (const pre of Object.keys(PRE_TOKENIZERS)) expect(split(pre, text).join('')).toBe(text);
  });
});

describe('special tokens are cut out before BPE', () => {
  const specials = [
    { id: 1, text: '<|im_start|>x', onlyWhenParsing: true },
    { id: 0, text: '<|im_start|>', onlyWhenParsing: true },
    { id: 2, text: '<tool>', onlyWhenParsing: false },
  ];

  it('longest first, every occurrence, inside words', () => {
    expect(partition('a<|im_start|>xb<|im_start|>c<tool>', specials, true)).toEqual([
      { text: 'a' },
      { id: 1 },
      { text: 'b' },
      { id: 0 },
      { text: 'c' },
      { id: 2 },
    ]);
  });

  it('without parsing, control tokens stay text but user-defined ones are still cut', () => {
    expect(partition('a<|im_start|>b<tool>', specials, false)).toEqual([
      { text: 'a<|im_start|>b' },
      { id: 2 },
    ]);
    expect(partition('', specials, true)).toEqual([]);
  });
});

describe('BPE merges', () => {
  const ids = new Map(['a', 'b', 'ab', 'bb', 'abb', 'bbb'].map((t, i) => [t, i]));
  const run = (merges: string[], word: string, ignore = false) => {
    const out: number[] = [];
    new BpeMerger(new Map(merges.map((m, i) => [m, i])), ids, ignore).encodeWord(word, out);
    return out.map((i) => [...ids.keys()][i]);
  };

  it('merge the lowest rank first, the leftmost pair on ties', () => {
    expect(run(['b b', 'a bb'], 'abb')).toEqual(['abb']);
    expect(run(['a b', 'b b'], 'abb')).toEqual(['ab', 'b']);
    expect(run(['b b'], 'bbb')).toEqual(['bb', 'b']);
  });

  it('take a whole word found in the vocabulary when merges are ignored (Llama 3)', () => {
    expect(run(['b b'], 'bbb', false)).toEqual(['bb', 'b']);
    expect(run(['b b'], 'bbb', true)).toEqual(['bbb']);
  });

  it('encode a made-up vocabulary end to end, BOS by the pre-tokenizer’s default', () => {
    const tok = fromMeta(tinyBpeMeta());
    expect(tok.addBos).toBe(false);
    // Byte characters have their byte as id; 256 'Ġt', 257 'he', 258 'Ġthe', 260 '<|im_start|>'.
    expect(tok.encode('the the<|im_start|>')).toEqual([0x74, 257, 258, 260]);
    expect(tok.decode(tok.encode(' the x'))).toBe(' the x');
    expect(tok.piece(258)).toBe(' the');
    expect(fromMeta({ ...tinyBpeMeta('llama-bpe') }).encode('x')[0]).toBe(259);
  });
});
