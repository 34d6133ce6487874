import { describeShared } from '@kvsieve/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../src/generate/generate.js';
import { loadModel } from '../src/load.js';
import { BpeTokenizer } from '../src/tokenizer/bpe.js';
import { renderChat } from '../src/tokenizer/chat.js';
import { wellFormed } from '../src/tokenizer/unicode.js';
import { SMOLLM2_DIR } from './fixtures/bpe-gguf.js';
import {
  ESSAY_DIR,
  firstDifference,
  type Prepared,
  prepareSubjects,
  SUBJECTS,
} from './fixtures/bpe-subjects.js';
import { CONVERSATION, EXPECTED_RENDERING } from './fixtures/chat-expected.js';

// Our byte-level BPE tokenizer against llama.cpp (node-llama-cpp 3.22.1) on GGUF files built from
// real vocabularies the way llama.cpp's converter builds them. One child process serves the file.

const SETUP_MS = 300_000;

function mismatches(p: Prepared, which: 'special' | 'plain', from: number, to: number): string[] {
  const out: string[] = [];
  for (let i = from; i < to; i++) {
    const mine = which === 'special' ? p.mine[i]! : p.minePlain[i]!;
    const diff = firstDifference(p.tok, mine, p.ref[which][i]!);
    if (diff !== null) out.push(`${JSON.stringify(p.texts[i]!.slice(0, 60))}: ${diff}`);
  }
  return out;
}

for (const subject of SUBJECTS) {
  const body = () => {
    let p: Prepared;
    beforeAll(async () => {
      p = (await prepareSubjects()).get(subject.label)!;
    }, SETUP_MS);

    it('gives llama.cpp’s ids on the hard strings (special tokens parsed)', () => {
      expect(p.hardCount).toBeGreaterThan(60);
      expect(mismatches(p, 'special', 0, p.hardCount)).toEqual([]);
    });

    it('gives llama.cpp’s ids on the hard strings with special-token parsing off', () => {
      expect(mismatches(p, 'plain', 0, p.hardCount)).toEqual([]);
    });

    it('adds BOS and EOS as the file asks, with llama.cpp’s ids and flags', () => {
      expect(p.tok.addBos).toBe(p.ref.addBos);
      expect(p.tok.addEos).toBe(p.ref.addEos);
      // HARD_STRINGS[1] is 'Hello world'.
      const bos = p.ref.addBos ? [p.ref.bos!] : [];
      const eos = p.ref.addEos ? [p.ref.eos!] : [];
      expect(p.texts[1]).toBe('Hello world');
      expect(p.tok.encode('Hello world')).toEqual([...bos, ...p.ref.special[1]!, ...eos]);
      expect(p.tok.encode('')).toEqual([...bos, ...eos]);
      expect(p.tok.bosId).toBe(p.ref.addBos ? p.ref.bos : null);
    });

    it('ends generation on llama.cpp’s end-of-generation ids', () => {
      expect([...p.tok.eosIds].sort((a, b) => a - b)).toEqual(p.ref.eog);
      expect(p.tok.eosIds[0]).toBe(p.ref.eos);
    });

    it('decodes as llama.cpp’s detokenizer, with and without special tokens', () => {
      const bad: string[] = [];
      p.detokenize.forEach((ids, i) => {
        const plain = p.tok.decode(ids);
        const special = p.tok.decode(ids, { skipSpecial: false });
        if (plain !== p.ref.detokenized[i] || special !== p.ref.detokenizedSpecial[i]) {
          bad.push(
            `list ${i}: ${JSON.stringify(plain.slice(0, 40))} / ${JSON.stringify(p.ref.detokenized[i]!.slice(0, 40))}`,
          );
        }
      });
      expect(bad).toEqual([]);
    });

    if (subject.weights) {
      it(`is a whole ${subject.weights} model both llama.cpp and loadModel open, tokenizing alike`, async () => {
        const model = await loadModel(p.path);
        try {
          expect(model.tokenizer).toBeInstanceOf(BpeTokenizer);
          expect(model.tokenizer.encode(p.texts[1]!)).toEqual(p.tok.encode(p.texts[1]!));
          const it = generate(model, 'Once upon a time', { maxTokens: 3 });
          let r = await it.next();
          while (!r.done) r = await it.next();
          expect(r.value.promptTokens).toBe(p.tok.encode('Once upon a time').length);
          expect(r.value.generatedTokens).toBeGreaterThan(0);
        } finally {
          model.dispose();
        }
      });
    }

    it('renders its chat template (or the fallback) as documented, tokenizing to llama.cpp’s ids', () => {
      const r = renderChat(p.tok, CONVERSATION);
      const key = subject.label.startsWith('Llama 3')
        ? 'llama3'
        : subject.label.startsWith('Qwen3')
          ? 'qwen3'
          : 'chatml';
      expect(r.source).toBe(key === 'chatml' ? 'fallback' : 'model');
      expect(r.text).toBe(EXPECTED_RENDERING[key]);
      const i = p.texts.indexOf(r.text);
      // As `kvsieve run --chat` tokenizes it: the template wrote any BOS itself.
      const ids = p.tok.encode(r.text, { addSpecial: false });
      expect(ids).toEqual(p.ref.special[i]);
      if (key === 'llama3') expect(ids.filter((id) => id === p.ref.bos)).toHaveLength(1);
    });

    it('round-trips text through encode and decode', () => {
      // Llama 3 and GPT-2's detokenizers drop spaces before punctuation; compare those on texts
      // without the patterns they clean.
      const cleans = subject.label.includes('Llama 3') || /gpt-2|default/.test(subject.label);
      const bad = p.texts.filter((t, i) => {
        if (cleans && /( [?!.,']|' )/.test(t)) return false;
        return p.tok.decode(p.mine[i]!, { skipSpecial: false }) !== wellFormed(t);
      });
      expect(bad.map((t) => JSON.stringify(t.slice(0, 60)))).toEqual([]);
    });
  };
  if (subject.sharedVocab)
    describeShared(`BPE tokenizer vs llama.cpp: ${subject.label}`, [SMOLLM2_DIR], body);
  else describe(`BPE tokenizer vs llama.cpp: ${subject.label}`, body);

  describeShared(
    `BPE tokenizer vs llama.cpp on Paul Graham essays: ${subject.label}`,
    [ESSAY_DIR, ...(subject.sharedVocab ? [SMOLLM2_DIR] : [])],
    () => {
      let p: Prepared;
      beforeAll(async () => {
        p = (await prepareSubjects()).get(subject.label)!;
      }, SETUP_MS);

      it('gives llama.cpp’s ids on whole essays', () => {
        expect(p.essayNames.length).toBeGreaterThanOrEqual(4);
        expect(p.texts.length).toBe(p.hardCount + p.essayNames.length);
        expect(mismatches(p, 'special', p.hardCount, p.texts.length)).toEqual([]);
      });
    },
  );
}
