import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeShared } from '@kvsieve/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import type { GgufValue } from '../src/io/gguf.js';
import { tokenizerFromGguf } from '../src/tokenizer/gguf-vocab.js';
import { HfTokenizer } from '../src/tokenizer/hf.js';
import type { TextTokenizer } from '../src/tokenizer/tokenizer.js';
import { llama3Vocab, qwen3Vocab, type RealVocab, SMOLLM2_DIR, smollm2Vocab } from './fixtures/bpe-gguf.js';
import { ESSAY_DIR } from './fixtures/bpe-subjects.js';
import { CONVERTER_PROBE, HARD_STRINGS } from './fixtures/hard-strings.js';
import { hfTokenizerToGgufMeta } from './fixtures/hf-gguf-vocab.js';

// Two implementations of the same vocabulary: tokenizer.json through @huggingface/tokenizers (the
// Hugging Face folder path) and the converter's GGUF metadata through our BPE tokenizer (the GGUF
// path). They must agree, except where llama.cpp itself departs from Hugging Face; those texts are
// listed with the reason, and must still differ, so the list stays true.

const KNOWN: Record<string, Record<string, string>> = {
  llama3: {
    'n \u{10d40}\u{10d41}\u{10d42} 7\u{10d43}':
      'Garay digits are \\p{N} to the JavaScript engine (Unicode 16+) but unassigned in llama.cpp (Unicode 15.1)',
  },
  qwen3: {
    'café cafe\u0301 naïve nai\u0308ve Å A\u030a':
      'Qwen’s tokenizer.json normalizes to NFC; llama.cpp does not normalize',
    '</s> <s> <unk>':
      'llama.cpp makes any token spelled "</s>" an end-of-generation control token, so it is parsed as one',
  },
  smollm2: {
    'مرحبا بالعالم، هذا نص عربي. ١٢٣٤٥٦٧':
      'llama.cpp isolates every \\p{N}; Hugging Face’s Digits pre-tokenizer only ASCII digits',
    '１２３ ²³ ⅫⅣ ١٢٣ ০১২':
      'llama.cpp isolates every \\p{N}; Hugging Face’s Digits pre-tokenizer only ASCII digits',
  },
};

interface Pair {
  hf: TextTokenizer;
  gguf: TextTokenizer;
}

function pair(v: RealVocab): Pair {
  const meta = hfTokenizerToGgufMeta(v.files, v.pre);
  const gguf = tokenizerFromGguf(
    { get: (k) => meta[k]?.value as GgufValue | undefined },
    `${v.name} metadata`,
  );
  return { hf: new HfTokenizer(v.files.tokenizer, v.files.config ?? {}, []), gguf };
}

function disagreements(p: Pair, texts: readonly string[]): string[] {
  return texts.filter((t) => {
    const a = p.gguf.encode(t, { addSpecial: false });
    const b = p.hf.encode(t, { addSpecial: false });
    return a.length !== b.length || a.some((x, i) => x !== b[i]);
  });
}

const VOCABS: { label: string; name: string; make: () => RealVocab; shared: boolean }[] = [
  { label: 'Llama 3', name: 'llama3', make: llama3Vocab, shared: false },
  { label: 'Qwen3', name: 'qwen3', make: qwen3Vocab, shared: false },
  { label: 'SmolLM2', name: 'smollm2', make: () => smollm2Vocab(), shared: true },
];

const ESSAYS = ['love.txt', 'wisdom.txt', 'boss.txt', 'addiction.txt'];

for (const v of VOCABS) {
  const body = () => {
    let p: Pair;
    beforeAll(() => {
      p = pair(v.make());
    }, 120_000);

    it('tokenizer.json and the GGUF metadata give the same ids on the hard strings', () => {
      const texts = [...HARD_STRINGS, CONVERTER_PROBE];
      const known = KNOWN[v.name] ?? {};
      expect(Object.keys(known).every((t) => texts.includes(t))).toBe(true);
      expect(disagreements(p, texts).sort()).toEqual(Object.keys(known).sort());
    });

    describeShared(`${v.label}: both paths on Paul Graham essays`, [ESSAY_DIR], (shared) => {
      it('give the same ids on whole essays', () => {
        const texts = ESSAYS.map((f) => readFileSync(join(shared, ESSAY_DIR, f), 'utf8'));
        expect(disagreements(p, texts)).toEqual([]);
      });
    });
  };
  if (v.shared) describeShared(`HF vs GGUF tokenizer: ${v.label}`, [SMOLLM2_DIR], body);
  else describe(`HF vs GGUF tokenizer: ${v.label}`, body);
}
