import { ModelFileError } from '../errors.js';
import { kindOf, showName } from './show.js';

/**
 * Schema checks for tokenizer.json and tokenizer_config.json, run before @huggingface/tokenizers
 * sees them: the library trusts its input (a token id of 10^9 makes it walk 10^9 slots, a missing
 * list is a TypeError), so the shape it relies on is checked here with messages naming the field.
 */

function fail(path: string, field: string, expected: string, got: unknown): never {
  throw new ModelFileError(`${path}: ${field} must be ${expected}, got ${kindOf(got)}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isId(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

/**
 * Ids may leave a few holes, but the library sizes and walks its vocabulary up to the largest id,
 * so one far beyond the number of tokens listed is a corrupt file, not a tokenizer.
 */
function maxIdFor(tokens: number): number {
  return 2 * tokens + 1024;
}

export function checkTokenizerJson(json: unknown, path: string): void {
  if (!isObject(json)) fail(path, 'the file', 'a JSON object', json);
  for (const field of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder'] as const) {
    const v = json[field];
    if (v !== undefined && v !== null && !isObject(v)) fail(path, field, 'an object or null', v);
  }
  const model = json.model;
  if (!isObject(model)) fail(path, 'model', 'an object (the tokenizer model)', model);
  if (model.type !== undefined && typeof model.type !== 'string') {
    fail(path, 'model.type', 'a string such as "BPE"', model.type);
  }
  const vocab = model.vocab;
  let maxId = -1;
  let count = 0;
  if (Array.isArray(vocab)) {
    vocab.forEach((entry, i) => {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || !Number.isFinite(entry[1])) {
        fail(path, `model.vocab[${i}]`, 'a [piece, score] pair', entry);
      }
    });
    count = vocab.length;
    maxId = vocab.length - 1;
  } else if (isObject(vocab)) {
    for (const [piece, id] of Object.entries(vocab)) {
      if (!isId(id)) fail(path, `model.vocab.${showName(piece)}`, 'a token id (an integer ≥ 0)', id);
      maxId = Math.max(maxId, id);
      count++;
    }
  } else {
    fail(path, 'model.vocab', 'an object of piece → id (or [piece, score] pairs)', vocab);
  }
  const merges = model.merges;
  if (merges !== undefined && merges !== null) {
    if (!Array.isArray(merges)) fail(path, 'model.merges', 'an array', merges);
    merges.forEach((m, i) => {
      const pair = Array.isArray(m) && m.length === 2 && m.every((x) => typeof x === 'string');
      if (typeof m !== 'string' && !pair)
        fail(path, `model.merges[${i}]`, 'a string or a pair of strings', m);
    });
  }
  const added = json.added_tokens;
  if (!Array.isArray(added)) fail(path, 'added_tokens', 'an array (possibly empty)', added);
  added.forEach((t, i) => {
    if (!isObject(t)) fail(path, `added_tokens[${i}]`, 'an object with id and content', t);
    if (!isId(t.id)) fail(path, `added_tokens[${i}].id`, 'a token id (an integer ≥ 0)', t.id);
    if (typeof t.content !== 'string') fail(path, `added_tokens[${i}].content`, 'a string', t.content);
    maxId = Math.max(maxId, t.id);
  });
  count += added.length;
  if (maxId >= maxIdFor(count)) {
    throw new ModelFileError(
      `${path}: token id ${maxId} is far beyond the ${count} tokens listed (at most ${maxIdFor(count) - 1}); the file is corrupt`,
    );
  }
}

const TOKEN_FIELDS = ['bos_token', 'eos_token', 'unk_token', 'pad_token'] as const;

export function checkTokenizerConfig(json: unknown, path: string): void {
  if (!isObject(json)) fail(path, 'the file', 'a JSON object', json);
  for (const field of TOKEN_FIELDS) {
    const v = json[field];
    if (v === undefined || v === null || typeof v === 'string') continue;
    if (!isObject(v) || typeof v.content !== 'string') {
      fail(path, field, 'a token string or an object with a string content', v);
    }
  }
  const special = json.additional_special_tokens;
  if (special !== undefined && special !== null && !Array.isArray(special)) {
    fail(path, 'additional_special_tokens', 'an array', special);
  }
  const template = json.chat_template;
  if (
    template !== undefined &&
    template !== null &&
    typeof template !== 'string' &&
    !Array.isArray(template)
  ) {
    fail(path, 'chat_template', 'a string or a list of named templates', template);
  }
}
