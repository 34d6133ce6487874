/**
 * Special-token partitioning (`tokenizer_st_partition` in llama-vocab.cpp): before any BPE, the
 * texts of control, user-defined and unknown tokens are cut out of the input, longest token first,
 * each token over every remaining text fragment left to right. Only the fragments between them are
 * pre-tokenized and merged. With `parseSpecial` off, control and unknown tokens stay plain text
 * but user-defined ones are still cut out (as Hugging Face tokenizers do with added tokens).
 */

/** A piece of input: raw text to tokenize, or a token already decided. */
export type Fragment = { readonly text: string } | { readonly id: number };

export interface SpecialToken {
  readonly id: number;
  readonly text: string;
  /** Control or unknown: matched only when parsing special tokens. */
  readonly onlyWhenParsing: boolean;
}

export function partition(
  text: string,
  specials: readonly SpecialToken[],
  parseSpecial: boolean,
): Fragment[] {
  if (text.length === 0) return [];
  let frags: Fragment[] = [{ text }];
  for (const sp of specials) {
    if (sp.onlyWhenParsing && !parseSpecial) continue;
    let split: Fragment[] | null = null;
    for (let f = 0; f < frags.length; f++) {
      const frag = frags[f]!;
      if (!('text' in frag) || !frag.text.includes(sp.text)) {
        split?.push(frag);
        continue;
      }
      split ??= frags.slice(0, f);
      let from = 0;
      for (let at = frag.text.indexOf(sp.text); at >= 0; at = frag.text.indexOf(sp.text, from)) {
        if (at > from) split.push({ text: frag.text.slice(from, at) });
        split.push({ id: sp.id });
        from = at + sp.text.length;
      }
      if (from < frag.text.length) split.push({ text: frag.text.slice(from) });
    }
    if (split !== null) frags = split;
  }
  return frags;
}
