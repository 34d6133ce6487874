import { ModelConfigError, ModelFileError } from '../errors.js';
import type { GgufValue } from '../io/gguf.js';
import { show } from '../io/show.js';
import { BpeTokenizer } from './bpe.js';
import type { SpecialIds } from './bpe-vocab.js';
import { SpmTokenizer } from './spm.js';
import type { TextTokenizer } from './tokenizer.js';

/** What the tokenizer reader needs from a GGUF file: its metadata by key. */
export interface GgufMetadataSource {
  /** The value at a metadata key such as `tokenizer.ggml.tokens`, or undefined when absent. */
  get(key: string): GgufValue | undefined;
}

/** `tokenizer.ggml.model` values served. */
export const SUPPORTED_TOKENIZER_MODELS = Object.freeze(['llama', 'gpt2']);

const SPECIAL_KEYS: readonly [keyof SpecialIds, string][] = [
  ['bos', 'bos_token_id'],
  ['eos', 'eos_token_id'],
  ['eot', 'eot_token_id'],
  ['eom', 'eom_token_id'],
  ['unk', 'unknown_token_id'],
  ['pad', 'padding_token_id'],
  ['fimPre', 'fim_pre_token_id'],
  ['fimSuf', 'fim_suf_token_id'],
  ['fimMid', 'fim_mid_token_id'],
  ['fimPad', 'fim_pad_token_id'],
  ['fimRep', 'fim_rep_token_id'],
  ['fimSep', 'fim_sep_token_id'],
  // Older files name the FIM ids this way; llama.cpp reads both.
  ['fimPre', 'prefix_token_id'],
  ['fimSuf', 'suffix_token_id'],
  ['fimMid', 'middle_token_id'],
];

/**
 * The tokenizer a GGUF file describes: SentencePiece for `tokenizer.ggml.model = "llama"`,
 * byte-level BPE for `"gpt2"`. Metadata is checked first (types, lengths, ids in range, merges);
 * a bad value is a {@link ModelFileError}, an unsupported tokenizer a {@link ModelConfigError}, each
 * naming `path` and the field. `vocabSize`, when given, is what the weights expect.
 */
export function tokenizerFromGguf(g: GgufMetadataSource, path: string, vocabSize?: number): TextTokenizer {
  const kind = g.get('tokenizer.ggml.model');
  if (kind !== 'llama' && kind !== 'gpt2') {
    throw new ModelConfigError(
      `${path}: GGUF tokenizer model ${show(kind)} is not supported (supported: ${SUPPORTED_TOKENIZER_MODELS.map((k) => `"${k}"`).join(', ')}); load the model's Hugging Face folder instead`,
    );
  }
  const tokens = strings(g.get('tokenizer.ggml.tokens'), 'tokenizer.ggml.tokens', path);
  if (vocabSize !== undefined && tokens.length !== vocabSize) {
    throw new ModelConfigError(
      `${path}: metadata tokenizer.ggml.tokens has ${tokens.length} tokens but token_embd.weight has ${vocabSize} rows; the tokenizer does not belong to these weights`,
    );
  }
  const n = tokens.length;
  const template = g.get('tokenizer.chat_template');
  const chatTemplate = typeof template === 'string' ? template : null;
  if (kind === 'llama') {
    const scores = perToken(g.get('tokenizer.ggml.scores'), 'tokenizer.ggml.scores', n, path);
    const types = perToken(g.get('tokenizer.ggml.token_type'), 'tokenizer.ggml.token_type', n, path);
    return new SpmTokenizer({
      tokens,
      scores: scores ?? tokens.map(() => 0),
      types: types ?? tokens.map(() => 1),
      bosId: optionalId(g.get('tokenizer.ggml.bos_token_id'), n),
      eosId: optionalId(g.get('tokenizer.ggml.eos_token_id'), n),
      unkId: optionalId(g.get('tokenizer.ggml.unknown_token_id'), n) ?? 0,
      addBos: g.get('tokenizer.ggml.add_bos_token') !== false,
      addSpacePrefix: g.get('tokenizer.ggml.add_space_prefix') !== false,
      chatTemplate,
    });
  }
  const mergesValue = g.get('tokenizer.ggml.merges');
  if (mergesValue === undefined) {
    throw new ModelFileError(
      `${path}: metadata tokenizer.ggml.merges is missing; a "gpt2" (BPE) tokenizer needs its merges, reconvert the model`,
    );
  }
  const special: Record<string, number> = {};
  for (const [role, key] of SPECIAL_KEYS) {
    const v = g.get(`tokenizer.ggml.${key}`);
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= n) {
      throw new ModelFileError(
        `${path}: metadata tokenizer.ggml.${key} is ${show(v)}, not a token id in [0, ${n}); the metadata is corrupt, reconvert the model`,
      );
    }
    special[role] = v;
  }
  return new BpeTokenizer(
    {
      tokens,
      types: perToken(g.get('tokenizer.ggml.token_type'), 'tokenizer.ggml.token_type', n, path),
      merges: strings(mergesValue, 'tokenizer.ggml.merges', path),
      pre: optionalString(g.get('tokenizer.ggml.pre'), 'tokenizer.ggml.pre', path),
      special,
      addBos: flag(g.get('tokenizer.ggml.add_bos_token'), 'tokenizer.ggml.add_bos_token', path),
      addEos: flag(g.get('tokenizer.ggml.add_eos_token'), 'tokenizer.ggml.add_eos_token', path),
      addSpacePrefix:
        flag(g.get('tokenizer.ggml.add_space_prefix'), 'tokenizer.ggml.add_space_prefix', path) ?? false,
      chatTemplate,
    },
    path,
  );
}

function strings(v: GgufValue | undefined, key: string, path: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw new ModelFileError(`${path}: metadata ${key} must be an array of strings`);
  return v as string[];
}

/** An optional per-token list: absent, or one number per token. */
function perToken(v: GgufValue | undefined, key: string, n: number, path: string): number[] | null {
  if (v === undefined) return null;
  if (!Array.isArray(v) || v.length !== n || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
    throw new ModelFileError(
      `${path}: metadata ${key} must be an array of ${n} finite numbers (one per token), got ${show(v)}`,
    );
  }
  return v as number[];
}

/** A special token id; as llama.cpp does, one outside the vocabulary is ignored. */
function optionalId(v: GgufValue | undefined, vocab: number): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < vocab ? v : null;
}

function optionalString(v: GgufValue | undefined, key: string, path: string): string | null {
  if (v === undefined) return null;
  if (typeof v !== 'string')
    throw new ModelFileError(`${path}: metadata ${key} must be a string, got ${show(v)}`);
  return v;
}

function flag(v: GgufValue | undefined, key: string, path: string): boolean | null {
  if (v === undefined) return null;
  if (typeof v !== 'boolean')
    throw new ModelFileError(`${path}: metadata ${key} must be a boolean, got ${show(v)}`);
  return v;
}
