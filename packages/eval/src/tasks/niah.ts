import { OptionError } from '@kvsieve/core';
import type { SegmentEncoder } from './encoder.js';
import { fitHaystack } from './fit.js';
import type { Haystack } from './haystack.js';
import type { Rng } from './random.js';
import { fill, type KeyKind, type NiahTemplate, type ValueKind } from './templates.js';
import type { TaskSample } from './types.js';
import { ADJECTIVES, NOUNS } from './words.js';

/** Shape of a needle task: how many keys, values per key, and how many keys are asked about. */
export interface NiahShape {
  /** Needle keys in the haystack (distinct). */
  readonly keys: number;
  /** Distinct values per key, each in its own needle. */
  readonly valuesPerKey: number;
  /** How many of the keys the question asks about (the first ones); at most `keys`. */
  readonly queries: number;
}

/** What {@link niahSample} builds a prompt with. */
export interface NiahContext {
  /** The model's tokenizer, encoding piece by piece. */
  readonly enc: SegmentEncoder;
  /** The wording: intro, needle, questions, answer prefixes. */
  readonly template: NiahTemplate;
  /** Filler text around the needles. */
  readonly haystack: Haystack;
  /** Tokens the model may generate per answer (the sample's `maxNewTokens`). */
  readonly maxNewTokens: number;
}

const HEX = '0123456789abcdef';
const KIND_NAMES: Record<ValueKind, string> = { number: 'numbers', word: 'words', uuid: 'UUIDs' };

const known = new WeakMap<SegmentEncoder, Map<readonly string[], string[]>>();

/** The words of a list the tokenizer gives back unchanged (computed once per tokenizer and list). */
function knownWords(enc: SegmentEncoder, words: readonly string[]): string[] {
  let byList = known.get(enc);
  if (!byList) {
    byList = new Map();
    known.set(enc, byList);
  }
  let ok = byList.get(words);
  if (!ok) {
    ok = words.filter((w) => enc.knows(w));
    byList.set(words, ok);
  }
  return ok;
}

/**
 * Words for keys and values: the template's own list (pairs join two of its words, as the
 * kvsieve-recall trainer does), else kvsieve's nouns (pairs: an adjective and a noun). Only words
 * the tokenizer spells count; fewer than 8 leaves the word kinds out.
 */
function wordPools(enc: SegmentEncoder, t: NiahTemplate): { single: string[]; first: string[] } | null {
  const single = knownWords(enc, t.words ?? NOUNS);
  const first = t.words ? single : knownWords(enc, ADJECTIVES);
  return single.length >= 8 && first.length >= 8 ? { single, first } : null;
}

function usableKinds<K extends string>(
  kinds: readonly K[],
  words: boolean,
  numeric: readonly K[],
  what: string,
): K[] {
  const ok = kinds.filter((k) => words || numeric.includes(k));
  if (ok.length === 0) {
    throw new OptionError(
      `the tokenizer gives back too few of the template's words unchanged for ${kinds.join(', ')} ${what}; use a template with ${numeric.join(' or ')} ${what}, or give it words the model knows`,
    );
  }
  return ok;
}

function makeKey(rng: Rng, kind: KeyKind, pools: { single: string[]; first: string[] } | null): string {
  if (kind === 'number') return String(rng.int(1000, 99999));
  if (kind === 'word') return rng.pick(pools!.single);
  return `${rng.pick(pools!.first)}-${rng.pick(pools!.single)}`;
}

function makeValue(rng: Rng, kind: ValueKind, pools: { single: string[] } | null): string {
  if (kind === 'number') return String(rng.int(1_000_000, 9_999_999));
  if (kind === 'word') return rng.pick(pools!.single);
  const hex = (n: number) => Array.from({ length: n }, () => rng.pick([...HEX])).join('');
  return `${hex(8)}-${hex(4)}`;
}

/**
 * A needle-in-a-haystack sample (RULER's niah family): `keys` needles `template.needle` (each key
 * with `valuesPerKey` values), the first `queries` keys asked about. The first needle of the first
 * queried key sits at `depth`; the other needles at seeded random depths. References are every
 * value of the queried keys; with a `sequential` template, multi-query asks one key per question
 * (the first in the prompt, the rest as follow-ups).
 */
export function niahSample(
  ctx: NiahContext,
  shape: NiahShape,
  o: { task: string; index: number; length: number; depth: number; rng: Rng },
): TaskSample {
  const { enc, template: t, rng } = { ...ctx, rng: o.rng };
  const pools = wordPools(enc, t);
  const keyKind = rng.pick(usableKinds<KeyKind>(t.keyKinds, pools !== null, ['number'], 'keys'));
  const valueKind = rng.pick(
    usableKinds<ValueKind>(t.valueKinds, pools !== null, ['number', 'uuid'], 'values'),
  );
  const keys = rng.distinct(shape.keys, () => makeKey(rng, keyKind, pools), `${keyKind} keys`);
  const values = keys.map(() =>
    rng.distinct(shape.valuesPerKey, () => makeValue(rng, valueKind, pools), `${valueKind} values`),
  );
  const kind = KIND_NAMES[valueKind];
  const inserts = keys.flatMap((key, k) =>
    values[k]!.map((value, v) => ({
      text: fill(t.needle, { key, value, kind }, 'needle'),
      depth: k === 0 && v === 0 ? o.depth : rng.random() * 100,
    })),
  );
  const queried = keys.slice(0, shape.queries);
  const vars = { key: queried[0]!, keys: queried.join(t.keyJoin), kind };
  const sequential = shape.queries > 1 && t.multiQuery === 'sequential';
  const [question, prefix] =
    shape.queries > 1 && !sequential
      ? [t.multiQueryQuestion, t.multiQueryAnswerPrefix]
      : shape.valuesPerKey > 1
        ? [t.multiValueQuestion, t.multiValueAnswerPrefix]
        : [t.question, t.answerPrefix];
  const intro = fill(t.intro, vars, 'intro');
  const questionText = fill(question, vars, 'question');
  const answerPrefix = fill(prefix, vars, 'answer prefix');
  const head = [...enc.start(), ...(intro.trim() ? enc.encodeFirst(intro) : [])];
  const tail = [...enc.encode(questionText), ...enc.encode(answerPrefix)];
  const { ids } = fitHaystack({
    enc,
    length: o.length,
    head,
    tail,
    inserts,
    haystack: ctx.haystack,
    rng,
    task: o.task,
  });
  const promptIds = ids.slice(0, ids.length - enc.encode(answerPrefix).length);
  // Sequential multi-query: the other keys are asked one by one, in a seeded order.
  const followUps = sequential
    ? rng
        .shuffle(queried.slice(1).map((key) => ({ key, values: values[keys.indexOf(key)]! })))
        .map(({ key, values: vs }) => {
          const text = `${fill(t.question, { ...vars, key }, 'question')} ${fill(t.answerPrefix, { ...vars, key }, 'answer prefix')}`;
          return {
            text,
            ids: [
              ...enc.encode(fill(t.question, { ...vars, key }, 'question')),
              ...enc.encode(fill(t.answerPrefix, { ...vars, key }, 'answer prefix')),
            ],
            outputs: vs,
          };
        })
    : undefined;
  return {
    task: o.task,
    index: o.index,
    input: enc.decode(promptIds),
    answerPrefix,
    outputs: sequential ? values[0]! : values.slice(0, shape.queries).flat(),
    ...(followUps ? { followUps } : {}),
    length: ids.length,
    depth: o.depth,
    ids,
    metric: 'all',
    maxNewTokens: ctx.maxNewTokens,
  };
}
