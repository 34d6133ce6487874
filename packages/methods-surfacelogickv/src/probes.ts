import { OptionError, seededRandom } from '@kvsieve/core';

/** What the probe generator needs from a tokenizer (the runtime's tokenizers fit). */
export interface ProbeTokenizer {
  /** Token ids of `text`; special tokens (BOS) are added as for a prompt unless `addSpecial` is false. */
  encode(text: string, opts?: { addSpecial?: boolean }): number[];
}

/** One needle-in-a-haystack probe, as token ids with the needle's span known. */
export interface Probe {
  /** Haystack with the needle, then the query; BOS first when the tokenizer adds one. */
  readonly prompt: readonly number[];
  /** The needle sentence: prompt indices `[start, end)`. */
  readonly needle: {
    /** First prompt index of the needle. */
    readonly start: number;
    /** One past its last prompt index. */
    readonly end: number;
  };
  /** The needle's value as it is tokenized right after the query (the teacher-forced answer). */
  readonly answer: readonly number[];
  /** The probe's text parts, name and value filled in. */
  readonly text: {
    /** The needle sentence placed in the haystack. */
    readonly needle: string;
    /** The question text that ends the prompt; its continuation is the value. */
    readonly query: string;
    /** The answer the needle holds. */
    readonly value: string;
  };
  /** The target length it was built for, in tokens (the prompt may be a few tokens shorter). */
  readonly length: number;
  /** The needle's depth it was built for, a fraction of the haystack's sentences. */
  readonly depth: number;
}

/** A needle with a value slot, and the query whose continuation is the value. */
export interface NeedleTemplate {
  /** Contains `{value}` once; may contain `{name}`. */
  readonly needle: string;
  /** The text the value follows in the needle; may contain `{name}`. */
  readonly query: string;
  /** Values drawn for `{value}`; keep them out of the haystack, so the needle is the only place to copy one from. */
  readonly values: readonly string[];
}

function pick<T>(rng: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rng() * xs.length)]!;
}

// Words a children's-story model knows; needle names and values are kept out of the filler so the
// only place a value occurs is the needle.
const SUBJECTS = [
  'The little dog',
  'A big cat',
  'The old man',
  'A happy bird',
  'The small boy',
  'A kind girl',
  'Mom',
  'Dad',
  'The baby',
  'The farmer',
];
const VERBS = [
  'ran to',
  'looked at',
  'played near',
  'walked past',
  'jumped over',
  'sat by',
  'found',
  'saw',
  'liked',
  'cleaned',
];
const OBJECTS = [
  'the tree',
  'the park',
  'a big box',
  'the river',
  'the house',
  'a tall hill',
  'the garden',
  'the door',
  'the road',
  'a blue cup',
];
const ENDINGS = ['.', ' and smiled.', ' every day.', ' in the sun.', ' with a friend.', ' after lunch.'];

/** Filler sentences from a fixed grammar ("builtin-v1"): no outside text needed. */
export function fillerSentence(rng: () => number): string {
  return `${pick(rng, SUBJECTS)} ${pick(rng, VERBS)} ${pick(rng, OBJECTS)}${pick(rng, ENDINGS)}`;
}

/** Names drawn for a template's `{name}`; the filler grammar never uses them. */
export const NEEDLE_NAMES = ['Lily', 'Tom', 'Ben', 'Mia', 'Sam', 'Anna', 'Max', 'Sue'];

/** The built-in needles ("builtin-v1"): a name or a plain key, and a one-word value. */
export const BUILTIN_NEEDLES: readonly NeedleTemplate[] = [
  {
    needle: "{name}'s favorite toy was a {value}.",
    query: "{name}'s favorite toy was a",
    values: ['kite', 'drum', 'robot', 'train', 'doll', 'boat', 'car', 'bear'],
  },
  {
    needle: '{name} had a pet named {value}.',
    query: '{name} had a pet named',
    values: ['Spot', 'Fluffy', 'Buddy', 'Rex', 'Coco', 'Daisy', 'Pip', 'Bingo'],
  },
  {
    needle: 'The secret word was {value}.',
    query: 'The secret word was',
    values: ['apple', 'moon', 'star', 'green', 'banana', 'rainbow', 'cookie', 'pink'],
  },
];

/** Split prose into sentences (for a haystack read from a file). */
export function splitSentences(text: string): string[] {
  return text
    .replace(/\s+/g, ' ')
    .split(/(?<=[.!?])\s+(?=[A-Z"'(])/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * How to build one probe (see {@link makeProbe}). A `length` below 8 tokens or a `depth` outside
 * [0, 1] throws an `OptionError`.
 */
export interface ProbeSpec {
  /** Target prompt length in tokens (whole sentences, so the prompt may be a few tokens shorter). */
  readonly length: number;
  /** Where the needle goes, as a fraction of the haystack's sentences (0 = first, 1 = last). */
  readonly depth: number;
  /** Seed of the needle, name, value and haystack draws: the same spec and tokenizer give the same probe. */
  readonly seed: number;
  /** Haystack sentences to draw from in order (from a random start); default: the filler grammar. */
  readonly sentences?: readonly string[];
  /** Templates to draw the needle from; default {@link BUILTIN_NEEDLES}. */
  readonly needles?: readonly NeedleTemplate[];
}

function isPrefix(a: readonly number[], b: readonly number[]): boolean {
  return a.length <= b.length && a.every((x, i) => x === b[i]);
}

/**
 * Build one probe. The prompt is tokenized as one text (as a user's prompt would be); the needle's
 * span and the answer are found by tokenizing the text up to each boundary and checking that it
 * is a prefix of the whole, so the spans are exact. Boundaries sit before a space, where
 * tokenizers do not merge.
 */
export function makeProbe(tokenizer: ProbeTokenizer, spec: ProbeSpec): Probe {
  const { length, depth } = spec;
  if (!Number.isInteger(length) || length < 8)
    throw new OptionError(`makeProbe: length must be an integer ≥ 8 tokens, got ${length}`);
  if (!(depth >= 0 && depth <= 1)) throw new OptionError(`makeProbe: depth must be in [0, 1], got ${depth}`);
  const rng = seededRandom(spec.seed);
  const templates = spec.needles ?? BUILTIN_NEEDLES;
  const t = pick(rng, templates);
  const name = pick(rng, NEEDLE_NAMES);
  const value = pick(rng, t.values);
  const needle = t.needle.replaceAll('{name}', name).replace('{value}', value);
  const query = t.query.replaceAll('{name}', name);
  const count = (s: string) => tokenizer.encode(s, { addSpecial: false }).length;
  const fixed = count(needle) + count(query) + 1;
  const source = spec.sentences;
  if (source && source.length === 0) throw new OptionError('makeProbe: the haystack has no sentences');
  let next = source ? Math.floor(rng() * source.length) : 0;
  const filler: string[] = [];
  let tokens = 0;
  for (;;) {
    const s = source ? source[next++ % source.length]! : fillerSentence(rng);
    const n = count(s);
    if (tokens + n + fixed > length) break;
    filler.push(s);
    tokens += n;
    if (filler.length > 100_000) throw new OptionError('makeProbe: the haystack sentences are empty');
  }
  const at = Math.round(depth * filler.length);
  const before = filler.slice(0, at).join(' ');
  const join = (...xs: string[]) => xs.filter((x) => x.length > 0).join(' ');
  const full = join(before, needle, filler.slice(at).join(' '), query);
  const ids = tokenizer.encode(full);
  const prefixIds = (text: string, what: string) => {
    const p = tokenizer.encode(text);
    if (!isPrefix(p, ids)) {
      throw new OptionError(
        `makeProbe: the tokenizer merges tokens across the ${what}, so its span is not exact; use other needle templates`,
      );
    }
    return p.length;
  };
  // The needle's start: the text before it, or just BOS when the needle opens the haystack.
  const specials = tokenizer.encode('x').length - tokenizer.encode('x', { addSpecial: false }).length;
  const start = before.length > 0 ? prefixIds(before, 'needle start') : specials;
  const end = prefixIds(join(before, needle), 'needle end');
  const withAnswer = tokenizer.encode(`${full} ${value}`);
  if (!isPrefix(ids, withAnswer)) {
    throw new OptionError(
      'makeProbe: the tokenizer merges the query with its answer, so the answer tokens are not exact; use other needle templates',
    );
  }
  return {
    prompt: ids,
    needle: { start, end },
    answer: withAnswer.slice(ids.length),
    text: { needle, query, value },
    length,
    depth,
  };
}
