// llama.cpp's tokenizer (through node-llama-cpp) on GGUF vocabularies, many texts in one process:
// loading a 150k-token vocabulary takes seconds. Models are opened vocabulary-only, one after the
// other, each disposed before the next (no contexts, which is what hung when reused; see
// ENVIRONMENT.md). Usage: node llama-cpp-tokenize.mjs JOB.json OUT.json, where JOB is an array of
// { model, texts: string[], detokenize: number[][], vocabSize, vocabOnly }; vocabOnly false loads the
// weights too, which shows the file is a whole model llama.cpp accepts. OUT gets one entry per model: per
// text the ids with special tokens parsed and without; per id list the detokenized text without and
// with special tokens; the BOS/EOS flags and ids; and the end-of-generation ids.
import { readFileSync, writeFileSync } from 'node:fs';
import { getLlama } from 'node-llama-cpp';

const [jobPath, outPath] = process.argv.slice(2);
const jobs = JSON.parse(readFileSync(jobPath, 'utf8'));
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const results = [];
for (const job of jobs) {
  const model = await llama.loadModel({ modelPath: job.model, vocabOnly: job.vocabOnly });
  const out = {
    addBos: model.tokens.shouldPrependBosToken,
    addEos: model.tokens.shouldAppendEosToken,
    bos: model.tokens.bos ?? null,
    eos: model.tokens.eos ?? null,
    // tokenize() never adds BOS/EOS (llama.cpp's own programs do, per the flags above).
    special: job.texts.map((t) => Array.from(model.tokenize(t, true))),
    plain: job.texts.map((t) => Array.from(model.tokenize(t, false))),
    detokenized: job.detokenize.map((ids) => model.detokenize(ids, false)),
    detokenizedSpecial: job.detokenize.map((ids) => model.detokenize(ids, true)),
    eog: [],
  };
  for (let id = 0; id < job.vocabSize; id++) if (model.isEogToken(id)) out.eog.push(id);
  results.push(out);
  await model.dispose();
}
writeFileSync(outPath, JSON.stringify(results));
process.exit(0);
