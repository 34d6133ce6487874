import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend } from '@kvsieve/core';
import { describeShared } from '@kvsieve/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { argmax, loadModel, type Model } from '../src/index.js';

const MODEL = 'models/stories260K/stories260K.gguf';
const STEPS = 200;
const PROMPTS = [
  'Once upon a time',
  'Lily and Ben went to the park',
  'The little dog was sad because',
  'One day, a big bird',
  'Tom had a red ball. He',
];

interface Reference {
  promptTokens: number[];
  tokens: number[];
  logits: number[][];
}

/** One child process per prompt: node-llama-cpp hung when one process served several contexts. */
function llamaCppReference(modelPath: string, prompt: string): Reference {
  const script = fileURLToPath(new URL('./reference/llama-cpp-reference.mjs', import.meta.url));
  const out = execFileSync(process.execPath, [script, modelPath, prompt, String(STEPS)], {
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 64 << 20,
  });
  return JSON.parse(out);
}

/**
 * Greedy continuations on `makeBackend()` must equal llama.cpp's token for token, with logits
 * within 1e-3 (measured: ~2e-5 on CPU and WebGPU).
 */
export function agreementSuite(
  name: string,
  makeBackend: () => Promise<Backend>,
  release?: (b: Backend) => void,
): void {
  describeShared(`agreement with llama.cpp on stories260K (${name} backend)`, [MODEL], (shared) => {
    const path = join(shared, MODEL);
    let model: Model;
    let backend: Backend;
    beforeAll(async () => {
      backend = await makeBackend();
      model = await loadModel(path, { backend });
    });
    afterAll(() => {
      model?.dispose();
      if (backend && release) release(backend);
    });

    it.each(PROMPTS)(
      'greedy continuation of %j: same tokens for 200 steps, logits within 1e-3',
      async (prompt) => {
        const ref = llamaCppReference(path, prompt);
        expect(model.tokenizer.encode(prompt)).toEqual(ref.promptTokens);
        const session = await model.start(ref.promptTokens);
        let logits = session.logits;
        let maxDiff = 0;
        const ours: number[] = [];
        try {
          for (let s = 0; s < STEPS; s++) {
            const row = ref.logits[s]!;
            expect(logits.length).toBe(row.length);
            for (let i = 0; i < row.length; i++) maxDiff = Math.max(maxDiff, Math.abs(logits[i]! - row[i]!));
            const next = argmax(logits);
            ours.push(next);
            if (next !== ref.tokens[s]) break;
            if (s + 1 < STEPS) logits = (await session.step(next)).logits!;
          }
        } finally {
          session.dispose();
        }
        console.log(
          `[llama.cpp agreement, ${name}] ${JSON.stringify(prompt)}: ${ours.length} tokens compared, max |Δlogit| ${maxDiff.toExponential(2)}`,
        );
        expect(ours).toEqual(ref.tokens);
        expect(maxDiff).toBeLessThan(1e-3);
      },
    );
  });
}
