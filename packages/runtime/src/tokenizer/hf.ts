import { Tokenizer } from '@huggingface/tokenizers';
import { OptionError } from '@kvsieve/core';
import { ModelFileError } from '../errors.js';
import { oneLine } from '../io/show.js';
import { checkTokenizerConfig, checkTokenizerJson } from '../io/tokenizer-json.js';
import type { TextTokenizer } from './tokenizer.js';

/** Where the tokenizer's JSON came from, for error messages. */
export interface HfTokenizerSources {
  /** How messages name tokenizer.json (default `'tokenizer.json'`). */
  readonly tokenizer?: string;
  /** How messages name tokenizer_config.json (default `'tokenizer_config.json'`). */
  readonly config?: string;
}

/** A Hugging Face `tokenizer.json` (with its `tokenizer_config.json` when present). */
export class HfTokenizer implements TextTokenizer {
  /** Tokens in the vocabulary, added tokens included. */
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosIds: readonly number[];
  readonly chatTemplate: string | null;
  private readonly tok: Tokenizer;

  /**
   * Both JSON objects are schema-checked first, and anything the library still throws becomes a
   * {@link ModelFileError} naming `sources.tokenizer`.
   */
  constructor(
    json: object,
    config: Record<string, unknown>,
    eosIds: readonly number[],
    sources: HfTokenizerSources = {},
  ) {
    const where = sources.tokenizer ?? 'tokenizer.json';
    checkTokenizerJson(json, where);
    checkTokenizerConfig(config, sources.config ?? 'tokenizer_config.json');
    let eosFromConfig: number | undefined;
    try {
      this.tok = new Tokenizer(json, config);
      this.vocabSize = this.tok.get_vocab(true).size;
      const bos = tokenText(config.bos_token);
      this.bosId = bos === null ? null : (this.tok.token_to_id(bos) ?? null);
      const eos = tokenText(config.eos_token);
      eosFromConfig = eos === null ? undefined : this.tok.token_to_id(eos);
    } catch (e) {
      throw new ModelFileError(
        `${where}: @huggingface/tokenizers cannot read it: ${oneLine(e)}; the file is corrupt or of a kind it does not support`,
      );
    }
    this.eosIds = [...new Set([...eosIds, ...(eosFromConfig === undefined ? [] : [eosFromConfig])])];
    this.chatTemplate = typeof config.chat_template === 'string' ? config.chat_template : null;
  }

  encode(text: string, opts: { addSpecial?: boolean } = {}): number[] {
    if (typeof text !== 'string') throw new OptionError(`encode: text must be a string, got ${typeof text}`);
    return this.tok.encode(text, { add_special_tokens: opts.addSpecial ?? true }).ids;
  }

  decode(ids: readonly number[], opts: { skipSpecial?: boolean } = {}): string {
    return this.tok.decode([...ids], {
      skip_special_tokens: opts.skipSpecial ?? true,
      clean_up_tokenization_spaces: false,
    });
  }

  piece(id: number): string {
    return this.tok.id_to_token(id) ?? '';
  }
}

function tokenText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string')
    return (v as { content: string }).content;
  return null;
}
