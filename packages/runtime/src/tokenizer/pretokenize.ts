import { CPT_LETTER, CPT_NUMBER, CPT_PUNCTUATION, CPT_WHITESPACE, cptFlags } from './unicode.js';

/**
 * Pre-tokenizers: how llama.cpp cuts text into words before BPE merges (`llm_tokenizer_bpe` in
 * llama-vocab.cpp, `unicode_regex_split` in unicode.cpp). Each pre type is a list of stages; every
 * stage re-splits each piece the previous ones produced, never merging across a cut.
 *
 * llama.cpp runs the GPT-2, Llama 3 and Qwen2 expressions through hand-written scanners rather than
 * a regex engine, and those scanners are what decide the ids, so they are mirrored here step by
 * step (including where they differ from the expressions they stand for). The short expressions it
 * hands to std::regex run on a "collapsed" text (each non-ASCII code point replaced by one byte for
 * its category), which the class tests below reproduce.
 */

const ABSENT = -1;
const CATEGORY_MASK = 0xff;

type Stage = (cps: readonly number[], flags: Uint16Array, offsets: number[]) => number[];

/** One segment being scanned: code point and flags lookups that read nothing outside it. */
class Scan {
  readonly out: number[];
  private prevEnd: number;
  constructor(
    private readonly cps: readonly number[],
    private readonly flags: Uint16Array,
    readonly ini: number,
    readonly end: number,
    out: number[],
  ) {
    this.out = out;
    this.prevEnd = ini;
  }
  cpt(pos: number): number {
    return pos >= this.ini && pos < this.end ? this.cps[pos]! : ABSENT;
  }
  /** Flags, or 0 outside the segment (llama.cpp's empty flags, distinct from "undefined"). */
  fl(pos: number): number {
    return pos >= this.ini && pos < this.end ? this.flags[pos]! : 0;
  }
  /** Ends a word at `end`; returns its length (0 adds nothing). */
  add(end: number): number {
    const len = end - this.prevEnd;
    if (len > 0) this.out.push(len);
    this.prevEnd = end;
    return len;
  }
}

const isWs = (f: number) => (f & CPT_WHITESPACE) !== 0;
const isLetter = (f: number) => (f & CPT_LETTER) !== 0;
const isNumber = (f: number) => (f & CPT_NUMBER) !== 0;
const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;
const APOSTROPHE = 0x27;

function asciiLower(cp: number): number {
  // llama.cpp's unicode_tolower; no code point outside A-Z lowers to one of the contraction letters.
  return cp >= 0x41 && cp <= 0x5a ? cp + 32 : cp;
}

/** 's 't 're 've 'm 'll 'd at `pos`: the length matched (2 or 3), or 0. */
function contraction(s: Scan, pos: number, foldCase: boolean): number {
  if (s.cpt(pos) !== APOSTROPHE || pos + 1 >= s.end) return 0;
  const low = foldCase ? asciiLower : (c: number) => c;
  const a = low(s.cpt(pos + 1));
  if (a === 0x73 || a === 0x74 || a === 0x6d || a === 0x64) return 2; // s t m d
  if (pos + 2 >= s.end) return 0;
  const b = low(s.cpt(pos + 2));
  if ((a === 0x72 && b === 0x65) || (a === 0x76 && b === 0x65) || (a === 0x6c && b === 0x6c)) return 3; // re ve ll
  return 0;
}

function eachSegment(
  cps: readonly number[],
  flags: Uint16Array,
  offsets: number[],
  body: (s: Scan) => void,
): number[] {
  const out: number[] = [];
  let start = 0;
  for (const len of offsets) {
    body(new Scan(cps, flags, start, start + len, out));
    start += len;
  }
  return out;
}

/** 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S), llama.cpp's scanner. */
const gpt2: Stage = (cps, flags, offsets) =>
  eachSegment(cps, flags, offsets, (s) => {
    for (let pos = s.ini; pos < s.end; ) {
      const cpt = s.cpt(pos);
      const c = contraction(s, pos, false);
      if (c > 0) {
        pos += s.add(pos + c);
        continue;
      }
      let f2 = cpt === SPACE ? s.fl(pos + 1) : s.fl(pos);
      if (isLetter(f2) || isNumber(f2)) {
        const want = isLetter(f2) ? isLetter : isNumber;
        pos += cpt === SPACE ? 1 : 0;
        while (want(f2)) f2 = s.fl(++pos);
        s.add(pos);
        continue;
      }
      const other = (f: number) => !(isWs(f) || isLetter(f) || isNumber(f)) && f !== 0;
      if (other(f2)) {
        pos += cpt === SPACE ? 1 : 0;
        while (other(f2)) f2 = s.fl(++pos);
        s.add(pos);
        continue;
      }
      let ws = 0;
      while (isWs(s.fl(pos + ws))) ws++;
      if (ws > 1 && s.cpt(pos + ws) !== ABSENT) {
        pos += ws - 1;
        s.add(pos);
        continue;
      }
      if (ws > 0) {
        pos += ws;
        s.add(pos);
        continue;
      }
      s.add(++pos);
    }
  });

/**
 * (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * (Llama 3, `digitRun` 3) and the same with \p{N} alone (Qwen2, `digitRun` 1): llama.cpp's scanners.
 */
function llama3Like(digitRun: number): Stage {
  return (cps, flags, offsets) =>
    eachSegment(cps, flags, offsets, (s) => {
      for (let pos = s.ini; pos < s.end; ) {
        const cpt = s.cpt(pos);
        const f = s.fl(pos);
        const c = contraction(s, pos, true);
        if (c > 0) {
          pos += s.add(pos + c);
          continue;
        }
        if (!(cpt === CR || cpt === LF || isNumber(f)) && (isLetter(f) || isLetter(s.fl(pos + 1)))) {
          pos++;
          while (isLetter(s.fl(pos))) pos++;
          s.add(pos);
          continue;
        }
        if (isNumber(f)) {
          let ini = pos;
          while (isNumber(s.fl(pos))) {
            if (++pos - ini >= digitRun) {
              s.add(pos);
              ini = pos;
            }
          }
          s.add(pos);
          continue;
        }
        let f2 = cpt === SPACE ? s.fl(pos + 1) : f;
        const other = (x: number) => !(isWs(x) || isLetter(x) || isNumber(x));
        // As in llama.cpp, the first code point's own flags gate this branch (not those after a
        // space); a space ending the segment comes out as the same one-space word either way.
        if (other(f2) && f !== 0) {
          pos += cpt === SPACE ? 1 : 0;
          while (other(f2) && f2 !== 0) f2 = s.fl(++pos);
          let c2 = s.cpt(pos);
          while (c2 === CR || c2 === LF) c2 = s.cpt(++pos);
          s.add(pos);
          continue;
        }
        let ws = 0;
        let lastNewlineEnd = 0;
        while (isWs(s.fl(pos + ws))) {
          const c2 = s.cpt(pos + ws);
          if (c2 === CR || c2 === LF) lastNewlineEnd = pos + ws + 1;
          ws++;
        }
        if (lastNewlineEnd > 0) {
          pos = lastNewlineEnd;
          s.add(pos);
          continue;
        }
        if (ws > 1 && s.cpt(pos + ws) !== ABSENT) {
          pos += ws - 1;
          s.add(pos);
          continue;
        }
        if (ws > 0) {
          pos += ws;
          s.add(pos);
          continue;
        }
        s.add(++pos);
      }
    });
}

/**
 * A std::regex stage over the collapsed text: `matches(cp, flags)` is the character class, `run`
 * whether it repeats (`+`) or matches one code point, `exactly` a fixed repeat count ({3}).
 * Matches become words and so do the gaps between them.
 */
function classStage(matches: (cp: number, f: number) => boolean, mode: 'one' | 'run' | number): Stage {
  return (cps, flags, offsets) =>
    eachSegment(cps, flags, offsets, (s) => {
      let pos = s.ini;
      while (pos < s.end) {
        if (!matches(s.cpt(pos), s.fl(pos))) {
          pos++;
          continue;
        }
        let stop = pos + 1;
        if (mode === 'run') {
          while (stop < s.end && matches(s.cpt(stop), s.fl(stop))) stop++;
        } else if (typeof mode === 'number') {
          while (stop < s.end && stop - pos < mode && matches(s.cpt(stop), s.fl(stop))) stop++;
          if (stop - pos < mode) {
            pos++;
            continue;
          }
        }
        s.add(pos);
        s.add(stop);
        pos = stop;
      }
      s.add(s.end);
    });
}

/** A non-ASCII code point's collapsed byte: whitespace wins over its category. */
function collapsedIs(f: number, category: number): boolean {
  return !isWs(f) && (f & CATEGORY_MASK) === category;
}

const isAsciiDigit = (cp: number) => cp >= 0x30 && cp <= 0x39;
/** \p{N}: ASCII digits, or any non-ASCII number. */
const numberClass = (cp: number, f: number) => (cp < 128 ? isAsciiDigit(cp) : collapsedIs(f, CPT_NUMBER));
const PUNCT_ASCII = new Set([...'!"#%&\'()*,-./:;?@[\\]_{}$+<=>^~|'].map((c) => c.charCodeAt(0)));
/** [\p{P}\$\+<=>\^~\|]: llama.cpp's ASCII punctuation list (no backtick) and the symbols named. */
const punctClass = (cp: number, f: number) =>
  cp < 128 ? PUNCT_ASCII.has(cp) : collapsedIs(f, CPT_PUNCTUATION);

/** The pre-tokenizer names llama.cpp maps to each supported behaviour, with their flags. */
export interface PreTokenizer {
  readonly stages: readonly Stage[];
  /** Whole words found in the vocabulary skip the merges (`ignore_merges`). */
  readonly ignoreMerges: boolean;
  readonly addBosDefault: boolean;
  /** Detokenization removes spaces before punctuation (`clean_spaces`). */
  readonly cleanSpaces: boolean;
}

const LLAMA3: PreTokenizer = {
  stages: [llama3Like(3)],
  ignoreMerges: true,
  addBosDefault: true,
  cleanSpaces: true,
};
const QWEN2: PreTokenizer = {
  stages: [llama3Like(1)],
  ignoreMerges: false,
  addBosDefault: false,
  cleanSpaces: false,
};
const SMOLLM: PreTokenizer = {
  stages: [classStage(numberClass, 'one'), gpt2],
  ignoreMerges: false,
  addBosDefault: false,
  cleanSpaces: false,
};
const GPT2: PreTokenizer = { stages: [gpt2], ignoreMerges: false, addBosDefault: false, cleanSpaces: true };
const DEFAULT: PreTokenizer = {
  stages: [
    classStage(punctClass, 'run'),
    gpt2,
    classStage(numberClass, 'run'),
    classStage((cp) => isAsciiDigit(cp), 3),
  ],
  ignoreMerges: false,
  addBosDefault: false,
  cleanSpaces: true,
};

/** `tokenizer.ggml.pre` values served, as llama.cpp groups them (llama_vocab::impl::load). */
export const PRE_TOKENIZERS: Readonly<Record<string, PreTokenizer>> = {
  'llama-bpe': LLAMA3,
  llama3: LLAMA3,
  'llama-v3': LLAMA3,
  qwen2: QWEN2,
  'deepseek-r1-qwen': QWEN2,
  smollm: SMOLLM,
  'gpt-2': GPT2,
  default: DEFAULT,
};

/** Cuts `text` into words with the given pre-tokenizer's stages. */
export function preTokenize(text: string, pre: PreTokenizer): string[] {
  const cps: number[] = [];
  // UTF-16 index where each code point starts, so words are slices of the text.
  const starts: number[] = [];
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    cps.push(cp);
    starts.push(i);
    i += cp > 0xffff ? 2 : 1;
  }
  starts.push(text.length);
  const flags = new Uint16Array(cps.length);
  for (let i = 0; i < cps.length; i++) flags[i] = cptFlags(cps[i]!);
  let offsets = [cps.length];
  for (const stage of pre.stages) offsets = stage(cps, flags, offsets);
  const words: string[] = [];
  let at = 0;
  for (const len of offsets) {
    words.push(text.slice(starts[at], starts[at + len]));
    at += len;
  }
  return words;
}
