import { OptionError } from '@kvsieve/core';

/**
 * Wording of the needle tasks. Placeholders: `{key}`, `{value}`, `{keys}` (the queried keys
 * joined), `{kind}` (what the values are called: "numbers", "words"). The question and the answer
 * prefix follow the haystack; the model continues after the answer prefix.
 */
export interface NiahTemplate {
  /** Name for `templateByName`, configs and summaries (`ruler`, `kvsieve-recall`). */
  readonly name: string;
  /** Before the haystack ('' for none). */
  readonly intro: string;
  /** One needle, placed in the haystack: uses `{key}`, `{value}` and `{kind}`. */
  readonly needle: string;
  /** One key, one value. */
  readonly question: string;
  /** What the model continues after, for one key with one value. */
  readonly answerPrefix: string;
  /** One key, several values. */
  readonly multiValueQuestion: string;
  /** Answer prefix for one key with several values. */
  readonly multiValueAnswerPrefix: string;
  /** Several keys asked at once (multi-query). */
  readonly multiQueryQuestion: string;
  /** Answer prefix for several keys asked at once (uses `{keys}`). */
  readonly multiQueryAnswerPrefix: string;
  /**
   * Multi-query as one question about every key (`joint`, RULER), or one question per key asked
   * in turn, each after the model's previous answer (`sequential`, as the kvsieve-recall model is
   * trained and evaluated).
   */
  readonly multiQuery: 'joint' | 'sequential';
  /** Joins keys in `{keys}`. */
  readonly keyJoin: string;
  /** Generation stops at the first of these (none: EOS or the token limit). */
  readonly stop: readonly string[];
  /**
   * Words for word keys, word-pair keys (two joined by `-`) and word values; default kvsieve's
   * English nouns, pairs an adjective and a noun. Give the words a model was trained on.
   */
  readonly words?: readonly string[];
  /** Key and value kinds a generated sample draws from. */
  readonly keyKinds: readonly KeyKind[];
  /** Value kinds a generated sample draws from. */
  readonly valueKinds: readonly ValueKind[];
}

/** What a needle's key is: a word, two words joined by `-`, or a 4–5 digit number. */
export type KeyKind = 'word' | 'word-pair' | 'number';
/** What a needle's value is: a 7-digit number, a word, or a short hex id (`1a2b3c4d-5e6f`). */
export type ValueKind = 'number' | 'word' | 'uuid';

/** In the spirit of RULER's wording (its niah prompts), written for kvsieve. */
export const RULER_TEMPLATE: NiahTemplate = {
  name: 'ruler',
  intro:
    'Some special magic {kind} are hidden within the following text. Make sure to memorize them. I will quiz you about the {kind} afterwards.\n',
  needle: 'One of the special magic {kind} for {key} is: {value}.',
  question: '\nWhat are all the special magic {kind} for {key} mentioned in the provided text?',
  answerPrefix: ' The special magic {kind} for {key} mentioned in the provided text are',
  multiValueQuestion: '\nWhat are all the special magic {kind} for {key} mentioned in the provided text?',
  multiValueAnswerPrefix: ' The special magic {kind} for {key} mentioned in the provided text are',
  multiQueryQuestion: '\nWhat are all the special magic {kind} for {keys} mentioned in the provided text?',
  multiQueryAnswerPrefix: ' The special magic {kind} for {keys} mentioned in the provided text are',
  multiQuery: 'joint',
  keyJoin: ', ',
  stop: [],
  keyKinds: ['word-pair'],
  valueKinds: ['number'],
};

/** The wording the project's own model (kvsieve-recall) was trained on (tools/train/data.py). */
export const KVSIEVE_RECALL_TEMPLATE: NiahTemplate = {
  name: 'kvsieve-recall',
  intro: '',
  needle: 'The secret code for {key}: {value}.',
  question: 'What is the secret code for {key}?',
  answerPrefix: 'The secret code for {key}:',
  multiValueQuestion: 'What are all the secret codes for {key}?',
  multiValueAnswerPrefix: 'The secret codes for {key}:',
  multiQueryQuestion: 'What are all the secret codes for {keys}?',
  multiQueryAnswerPrefix: 'The secret codes for {keys}:',
  multiQuery: 'sequential',
  keyJoin: ', ',
  stop: ['.'],
  // The trainer's keys are one key word or two joined by '-' (no number keys since 2026-11-23).
  keyKinds: ['word', 'word-pair'],
  valueKinds: ['number', 'word', 'uuid'],
};

/** The built-in templates by name: `ruler` and `kvsieve-recall`. */
export const TEMPLATES: Readonly<Record<string, NiahTemplate>> = {
  ruler: RULER_TEMPLATE,
  'kvsieve-recall': KVSIEVE_RECALL_TEMPLATE,
};

/** The built-in template called `name`; throws an `OptionError` listing the names for an unknown one. */
export function templateByName(name: string): NiahTemplate {
  const t = TEMPLATES[name];
  if (!t) {
    throw new OptionError(
      `template ${JSON.stringify(name)} is unknown; use one of ${Object.keys(TEMPLATES).join(', ')}`,
    );
  }
  return t;
}

/** Replace `{name}` placeholders; an unknown placeholder is a mistake in the template. */
export function fill(template: string, values: Readonly<Record<string, string>>, where: string): string {
  return template.replace(/\{(\w+)\}/g, (_, k: string) => {
    const v = values[k];
    if (v === undefined) {
      throw new OptionError(
        `template ${where}: placeholder {${k}} has no value here; use ${Object.keys(values)
          .map((n) => `{${n}}`)
          .join(', ')}`,
      );
    }
    return v;
  });
}
