import type { SpecialToken } from './special.js';
import { utf8Length } from './utf8.js';

/** llama.cpp token types (`tokenizer.ggml.token_type`). */
export const TOKEN_TYPE = {
  undefined: 0,
  normal: 1,
  unknown: 2,
  control: 3,
  userDefined: 4,
  unused: 5,
  byte: 6,
} as const;

/** llama.cpp token attributes (bit flags, `llama_token_attr`). */
export const ATTR = {
  undefined: 0,
  unknown: 1 << 0,
  unused: 1 << 1,
  normal: 1 << 2,
  control: 1 << 3,
  userDefined: 1 << 4,
  byte: 1 << 5,
} as const;

const ATTR_OF_TYPE = [
  ATTR.undefined,
  ATTR.normal,
  ATTR.unknown,
  ATTR.control,
  ATTR.userDefined,
  ATTR.unused,
  ATTR.byte,
];

/** Special token ids as the file gives them; absent ones are `undefined`. */
export interface SpecialIds {
  readonly bos?: number;
  readonly eos?: number;
  readonly eot?: number;
  readonly eom?: number;
  readonly unk?: number;
  readonly pad?: number;
  readonly fimPre?: number;
  readonly fimSuf?: number;
  readonly fimMid?: number;
  readonly fimPad?: number;
  readonly fimRep?: number;
  readonly fimSep?: number;
}

/** Token texts llama.cpp recognises by name when the file does not give the id (llama_vocab::impl::load). */
const EOT_TEXTS = [
  '<|eot_id|>',
  '<|im_end|>',
  '<|end|>',
  '<end_of_turn>',
  '<|endoftext|>',
  '<|end_of_text|>',
  '<EOT>',
  '_<EOT>',
  '[EOT]',
  '<｜end▁of▁sentence｜>',
  '<end_of_utterance>',
];
const NAMED: readonly [keyof SpecialIds, readonly string[]][] = [
  ['eot', EOT_TEXTS],
  ['eom', ['<|eom_id|>']],
  [
    'fimPre',
    [
      '<|fim_prefix|>',
      '<fim-prefix>',
      '<fim_prefix>',
      '<｜fim▁begin｜>',
      '<PRE>',
      '▁<PRE>',
      '<|code_prefix|>',
      '<|prefix|>',
    ],
  ],
  [
    'fimSuf',
    [
      '<|fim_suffix|>',
      '<fim-suffix>',
      '<fim_suffix>',
      '<｜fim▁hole｜>',
      '<SUF>',
      '▁<SUF>',
      '<|code_suffix|>',
      '<|suffix|>',
    ],
  ],
  [
    'fimMid',
    [
      '<|fim_middle|>',
      '<fim-middle>',
      '<fim_middle>',
      '<｜fim▁end｜>',
      '<MID>',
      '▁<MID>',
      '<|code_middle|>',
      '<|middle|>',
    ],
  ],
  ['fimPad', ['<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '[PAD]']],
  ['fimRep', ['<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>']],
  ['fimSep', ['<|file_sep|>']],
];
/** Texts that end generation whatever the file says. */
const EOG_TEXTS = new Set([
  '<|eot_id|>',
  '<|im_end|>',
  '<|end|>',
  '<|return|>',
  '<|call|>',
  '<|flush|>',
  '<|calls|>',
  '<end_of_turn>',
  '<|endoftext|>',
  '</s>',
  '<|eom_id|>',
  '<EOT>',
  '_<EOT>',
  '[EOT]',
  '[EOS]',
  '<|end_of_text|>',
  '<end_of_utterance>',
  '<eos>',
  '<turn|>',
  '<|tool_response>',
  '<｜end▁of▁sentence｜>',
  '[e~[',
]);
/** gpt-oss markers llama.cpp always renders as text. */
const ALWAYS_RENDERED = new Set(['<|channel|>', '<|message|>', '<|start|>', '<|constrain|>']);

/** The vocabulary as llama.cpp holds it after loading: final attributes, ids and caches. */
export interface ResolvedVocab {
  readonly tokens: readonly string[];
  readonly attrs: Uint16Array;
  /** Text → id; a text held by several tokens maps to the last. */
  readonly ids: ReadonlyMap<string, number>;
  readonly special: Required<{ [K in keyof SpecialIds]: number | null }>;
  /** Ids that end generation. */
  readonly eog: ReadonlySet<number>;
  /** Tokens cut out of text before BPE, longest text first. */
  readonly partitionOrder: readonly SpecialToken[];
}

/**
 * Applies llama.cpp's load-time rules to a byte-level BPE vocabulary: default ids (11 for BOS and
 * EOS), ids found by token text, attributes raised to control for those, the end-of-generation set
 * and its workarounds, and the special-token cache.
 *
 * Where llama.cpp picks the first of several matching texts in hash-map order, this picks the lowest
 * id; the vocabularies it serves have at most one text per role.
 */
export function resolveVocab(
  tokens: readonly string[],
  types: readonly number[] | null,
  given: SpecialIds,
): ResolvedVocab {
  const n = tokens.length;
  const texts = tokens.map((t, i) => (t.length === 0 ? `[EMPTY_${i}]` : t));
  const attrs = new Uint16Array(n);
  for (let i = 0; i < n; i++)
    attrs[i] = types === null ? ATTR.normal : (ATTR_OF_TYPE[types[i]!] ?? ATTR.undefined);
  const ids = new Map<string, number>();
  texts.forEach((t, i) => ids.set(t, i));
  const inRange = (id: number | undefined) => (id !== undefined && id < n ? id : null);
  const special = {
    bos: inRange(given.bos) ?? inRange(11),
    eos: inRange(given.eos) ?? inRange(11),
    eot: inRange(given.eot),
    eom: inRange(given.eom),
    unk: inRange(given.unk),
    pad: inRange(given.pad),
    fimPre: inRange(given.fimPre),
    fimSuf: inRange(given.fimSuf),
    fimMid: inRange(given.fimMid),
    fimPad: inRange(given.fimPad),
    fimRep: inRange(given.fimRep),
    fimSep: inRange(given.fimSep),
  };
  // Distinct texts in id order (the last id of a repeated text, as `ids` holds it).
  const byText = [...ids.entries()].sort((a, b) => a[1] - b[1]);
  for (const [text, id] of byText) {
    for (const [role, names] of NAMED) {
      if (special[role] === null && names.includes(text)) {
        special[role] = id;
        attrs[id]! |= ATTR.control;
      }
    }
  }
  const eog = new Set<number>();
  for (const id of [special.fimPad, special.fimRep, special.fimSep]) if (id !== null) eog.add(id);
  for (const [text, id] of byText) {
    if (EOG_TEXTS.has(text)) {
      eog.add(id);
      attrs[id]! |= ATTR.control;
    }
  }
  for (const [text, id] of byText) if (ALWAYS_RENDERED.has(text)) attrs[id] = ATTR.userDefined;
  for (const id of [special.eos, special.eot, special.eom]) if (id !== null) eog.add(id);
  const eogText = (t: string) => [...eog].find((id) => texts[id] === t);
  const end = eogText('<|end|>');
  const has = (t: string) => eogText(t) !== undefined;
  const hasCall = has('<|call|>') || has('<|calls|>');
  // Harmony-style vocabularies end turns with <|return|>/<|call|>; there <|end|> is plain text.
  if (end !== undefined && hasCall && (has('<|return|>') || has('<|flush|>'))) {
    eog.delete(end);
    attrs[end] = ATTR.userDefined;
  }
  const closeS = eogText('</s>');
  if (closeS !== undefined && has('<|tool_response>')) {
    eog.delete(closeS);
    attrs[closeS] = ATTR.normal;
  }
  const partitionOrder: SpecialToken[] = [];
  for (let id = 0; id < n; id++) {
    const a = attrs[id]!;
    if (a & (ATTR.control | ATTR.userDefined | ATTR.unknown)) {
      partitionOrder.push({
        id,
        text: texts[id]!,
        onlyWhenParsing: (a & (ATTR.control | ATTR.unknown)) !== 0,
      });
    }
  }
  // llama.cpp sorts by byte length only (unstable); ties keep id order here.
  const bytes = new Map(partitionOrder.map((s) => [s.id, utf8Length(s.text)]));
  partitionOrder.sort((a, b) => bytes.get(b.id)! - bytes.get(a.id)! || a.id - b.id);
  return { tokens: texts, attrs, ids, special, eog, partitionOrder };
}
