import { OptionError } from '@kvsieve/core';
import { ModelConfigError, ModelFileError } from '../errors.js';
import { show } from '../io/show.js';
import { BpeMerger } from './bpe-merge.js';
import { ATTR, type ResolvedVocab, resolveVocab, type SpecialIds, TOKEN_TYPE } from './bpe-vocab.js';
import { PRE_TOKENIZERS, type PreTokenizer, preTokenize } from './pretokenize.js';
import { partition } from './special.js';
import type { TextTokenizer } from './tokenizer.js';
import { byteLevelTables, wellFormed } from './unicode.js';
import { utf8Decode, utf8Encode } from './utf8.js';

/** A byte-level BPE vocabulary as GGUF metadata holds it (`tokenizer.ggml.model = "gpt2"`). */
export interface BpeVocab {
  /** `tokenizer.ggml.tokens`: each token's text in GPT-2's byte-to-unicode form, by id. */
  readonly tokens: readonly string[];
  /** `tokenizer.ggml.token_type`, one per token (0–6), or null when absent (all normal). */
  readonly types: readonly number[] | null;
  /** `tokenizer.ggml.merges`: "left right", highest priority first. */
  readonly merges: readonly string[];
  /** `tokenizer.ggml.pre`; null when absent (llama.cpp then uses "default"). */
  readonly pre: string | null;
  /** Special token ids (`tokenizer.ggml.bos_token_id`, `eos_token_id`, `eot_token_id`, …); each must be in the vocabulary. */
  readonly special: SpecialIds;
  /** `tokenizer.ggml.add_bos_token` / `add_eos_token`; null: the pre-tokenizer's default. */
  readonly addBos: boolean | null;
  /** `tokenizer.ggml.add_eos_token`; null: false. */
  readonly addEos: boolean | null;
  /** `tokenizer.ggml.add_space_prefix`: llama.cpp then drops one leading space when decoding. */
  readonly addSpacePrefix: boolean;
  /** `tokenizer.chat_template` (Jinja), or null when the file has none. */
  readonly chatTemplate: string | null;
}

/** The `tokenizer.ggml.pre` values this tokenizer serves. */
export const SUPPORTED_PRE = Object.freeze(Object.keys(PRE_TOKENIZERS));

/**
 * Byte-level BPE (GPT-2 style, used by Llama 3, Qwen 2/2.5/3, SmolLM2, Mistral Nemo, …) giving
 * llama.cpp's token ids for the same GGUF vocabulary: special tokens cut out first, then the
 * pre-tokenizer named by `tokenizer.ggml.pre`, then merges by rank. `decode` follows llama.cpp's
 * detokenizer, including its space clean-up for the pre-tokenizers that enable it.
 */
export class BpeTokenizer implements TextTokenizer {
  /** Tokens in the vocabulary (ids are `0 … vocabSize − 1`). */
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosIds: readonly number[];
  readonly chatTemplate: string | null;
  /** The pre-tokenizer in use: `tokenizer.ggml.pre`, or "default" when absent (one of {@link SUPPORTED_PRE}). */
  readonly pre: string;
  /** Whether `encode` adds BOS: the file's `add_bos_token`, else the pre-tokenizer's default. */
  readonly addBos: boolean;
  /** Whether `encode` appends EOS (`add_eos_token`; false when absent). */
  readonly addEos: boolean;
  private readonly preTokenizer: PreTokenizer;
  private readonly vocab: ResolvedVocab;
  private readonly merger: BpeMerger;
  private readonly addSpacePrefix: boolean;
  private readonly pieces: (Uint8Array | undefined)[];

  /** @param source the file the vocabulary came from, for error messages */
  constructor(v: BpeVocab, source = 'tokenizer') {
    this.pre = v.pre ?? 'default';
    const pre = PRE_TOKENIZERS[this.pre];
    if (pre === undefined) {
      const hint = this.pre === 'gpt2' ? ' (llama.cpp names GPT-2\'s pre-tokenizer "gpt-2")' : '';
      throw new ModelConfigError(
        `${source}: tokenizer.ggml.pre ${show(this.pre)} is not supported${hint}; supported: ${SUPPORTED_PRE.join(', ')}; load the model's Hugging Face folder (tokenizer.json) instead`,
      );
    }
    this.preTokenizer = pre;
    const n = v.tokens.length;
    if (n === 0)
      throw new ModelFileError(`${source}: tokenizer.ggml.tokens is empty; the file has no vocabulary`);
    if (v.types !== null) {
      if (v.types.length !== n) {
        throw new ModelFileError(
          `${source}: tokenizer.ggml.token_type has ${v.types.length} entries for ${n} tokens; the metadata is corrupt, reconvert the model`,
        );
      }
      const bad = v.types.findIndex(
        (t) => !Number.isInteger(t) || t < TOKEN_TYPE.undefined || t > TOKEN_TYPE.byte,
      );
      if (bad >= 0) {
        throw new ModelFileError(
          `${source}: tokenizer.ggml.token_type[${bad}] is ${show(v.types[bad])}; token types are integers 0–6; the metadata is corrupt, reconvert the model`,
        );
      }
    }
    for (const [role, id] of Object.entries(v.special)) {
      if (id !== undefined && (!Number.isInteger(id) || id < 0 || id >= n)) {
        throw new ModelFileError(
          `${source}: the ${role} token id ${show(id)} is outside the vocabulary [0, ${n}); the metadata is corrupt, reconvert the model`,
        );
      }
    }
    const ranks = new Map<string, number>();
    v.merges.forEach((m, i) => {
      const cut = typeof m === 'string' ? m.indexOf(' ', 1) : -1;
      if (cut < 0 || cut === m.length - 1) {
        throw new ModelFileError(
          `${source}: tokenizer.ggml.merges[${i}] is ${show(m)}, not "left right"; the metadata is corrupt, reconvert the model`,
        );
      }
      // The first occurrence of a pair keeps its rank, as in llama.cpp.
      if (!ranks.has(m)) ranks.set(m, i);
    });
    this.vocab = resolveVocab(v.tokens, v.types, v.special);
    this.addBos = v.addBos ?? pre.addBosDefault;
    this.addEos = v.addEos ?? false;
    const { bos, eos } = this.vocab.special;
    if (this.addBos && bos === null) {
      throw new ModelFileError(
        `${source}: tokenizer.ggml.add_bos_token asks for a BOS token but tokenizer.ggml.bos_token_id is missing; set it or add_bos_token = false`,
      );
    }
    if (this.addEos && eos === null) {
      throw new ModelFileError(
        `${source}: tokenizer.ggml.add_eos_token asks for an EOS token but tokenizer.ggml.eos_token_id is missing; set it or add_eos_token = false`,
      );
    }
    this.vocabSize = n;
    this.bosId = this.addBos ? bos : null;
    this.eosIds = [
      ...(eos === null ? [] : [eos]),
      ...[...this.vocab.eog].filter((id) => id !== eos).sort((a, b) => a - b),
    ];
    this.chatTemplate = v.chatTemplate;
    this.addSpacePrefix = v.addSpacePrefix;
    this.merger = new BpeMerger(ranks, this.vocab.ids, pre.ignoreMerges);
    this.pieces = new Array(n);
  }

  /**
   * Text to ids. `addSpecial` (default true) adds BOS/EOS as the file asks; `parseSpecial` (default
   * true, as llama.cpp's programs and Hugging Face tokenizers do) turns control-token texts such as
   * `<|eot_id|>` into their ids instead of spelling them out.
   */
  encode(text: string, opts: { addSpecial?: boolean; parseSpecial?: boolean } = {}): number[] {
    if (typeof text !== 'string') throw new OptionError(`encode: text must be a string, got ${typeof text}`);
    const addSpecial = opts.addSpecial ?? true;
    const out: number[] = [];
    if (addSpecial && this.addBos) out.push(this.vocab.special.bos!);
    const { toChar } = byteLevelTables();
    for (const frag of partition(wellFormed(text), this.vocab.partitionOrder, opts.parseSpecial ?? true)) {
      if ('id' in frag) {
        out.push(frag.id);
        continue;
      }
      for (const word of preTokenize(frag.text, this.preTokenizer)) {
        let chars = '';
        for (const b of utf8Encode(word)) chars += toChar[b];
        this.merger.encodeWord(chars, out);
      }
    }
    if (addSpecial && this.addEos) out.push(this.vocab.special.eos!);
    return out;
  }

  /**
   * Ids to text as llama.cpp's detokenizer gives it: control tokens only when `skipSpecial` is
   * false, user-defined tokens always, bytes that are not valid UTF-8 as U+FFFD.
   */
  decode(ids: readonly number[], opts: { skipSpecial?: boolean } = {}): string {
    const special = !(opts.skipSpecial ?? true);
    const parts: Uint8Array[] = [];
    let total = 0;
    ids.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize)
        throw new OptionError(
          `decode: token id ${show(id)} is outside the vocabulary [0, ${this.vocabSize})`,
        );
      if (!special && this.vocab.attrs[id]! & (ATTR.control | ATTR.unknown)) return;
      let p = this.pieceBytes(id);
      if (i === 0 && this.addSpacePrefix && p[0] === 0x20) p = p.subarray(1);
      parts.push(p);
      total += p.length;
    });
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
    const text = this.preTokenizer.cleanSpaces ? cleanSpaces(bytes) : bytes;
    return utf8Decode(text);
  }

  /** A token's text as it decodes (control tokens included), for display. */
  piece(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) return '';
    return utf8Decode(this.pieceBytes(id));
  }

  /** llama.cpp's token_to_piece with special tokens rendered. */
  private pieceBytes(id: number): Uint8Array {
    let p = this.pieces[id];
    if (p !== undefined) return p;
    const a = this.vocab.attrs[id]!;
    const text = this.vocab.tokens[id]!;
    if (a & (ATTR.control | ATTR.unknown | ATTR.userDefined)) p = utf8Encode(text);
    else if (a & ATTR.normal) p = byteLevelDecode(text);
    else if (a & ATTR.byte) p = Uint8Array.of(Number.parseInt(text.slice(3, 5), 16) || 0);
    else p = new Uint8Array(0);
    this.pieces[id] = p;
    return p;
  }
}

/** Byte-level characters back to bytes; a character outside the table is spelled out as llama.cpp does. */
function byteLevelDecode(text: string): Uint8Array {
  const { toByte } = byteLevelTables();
  const out: number[] = [];
  for (const ch of text) {
    const b = toByte.get(ch);
    if (b !== undefined) {
      out.push(b);
      continue;
    }
    const hex = [...utf8Encode(ch)].map((x) => x.toString(16).padStart(2, '0')).join('');
    out.push(...utf8Encode(`[UNK_BYTE_0x${hex}${text}]`));
  }
  return Uint8Array.from(out);
}

const SP = 0x20;
const QUOTE = 0x27;
const ch = (c: string) => c.charCodeAt(0);

/**
 * llama.cpp's `clean_spaces` passes over the detokenized bytes: " ?", " !", " .", " ," lose the
 * space; a lone " ' " loses both spaces; " 's", " 'm", " 're", " 've" lose the space.
 */
function cleanSpaces(input: Uint8Array): Uint8Array {
  if (input.length === 0) return input;
  // Pass 1.
  let a = Array.from(input);
  let out: number[] = [a[0]!];
  for (let i = 1; i < a.length; i++) {
    const x = a[i]!;
    if (a[i - 1] === SP && (x === ch('?') || x === ch('!') || x === ch('.') || x === ch(','))) out.pop();
    out.push(x);
  }
  // Pass 2: the space after the quote is dropped by skipping it, and reads as NUL afterwards.
  a = out;
  out = [a[0]!];
  for (let i = 1; i < a.length; i++) {
    const x = a[i]!;
    if (x === QUOTE && i + 1 < a.length && a[i - 1] === SP && a[i + 1] === SP) {
      out.pop();
      a[++i] = 0;
    }
    out.push(x);
  }
  // Pass 3.
  a = out;
  out = [a[0]!];
  for (let i = 1; i < a.length; i++) {
    const x = a[i]!;
    if (a[i - 1] === SP && x === QUOTE && i + 1 < a.length) {
      const x1 = a[i + 1]!;
      if (x1 === ch('s') || x1 === ch('m')) out.pop();
      else if (x1 !== ch('t') && x1 !== ch('d') && i + 2 < a.length) {
        const x2 = a[i + 2]!;
        if ((x1 === ch('r') || x1 === ch('v')) && x2 === ch('e')) out.pop();
      }
    }
    out.push(x);
  }
  return Uint8Array.from(out);
}
