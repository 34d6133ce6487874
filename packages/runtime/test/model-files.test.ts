import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Backend, CpuBackend } from '@kvsieve/core';
import { describeShared } from '@kvsieve/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel, renderChat } from '../src/index.js';
import { ARCH_SPECS, type ArchSpec, writeArchGguf } from './fixtures/arch-gguf.js';
import { SMOLLM2_DIR } from './fixtures/bpe-gguf.js';
import {
  CHAT_PROMPT,
  compareWithLlamaCpp,
  embedScale,
  llamaCppChat,
  type Reference,
  typeOfFor,
} from './fixtures/chat-agreement.js';

// Files shaped as users download them, against llama.cpp: one layer of each architecture's real
// widths and heads (Llama 3 RoPE factors, Qwen2 biases, Qwen3 q/k norms and head_dim 128), its real
// vocabulary and chat template, weights in llama.cpp's Q4_K_M recipe (fallback types where a row
// does not fit 256), a chat prompt rendered by the file's template and 8 greedy steps compared with
// teacher forcing. The full matrix (every type, 2 layers, 32 steps, CPU and WebGPU, `kvsieve run
// --chat`) is `pnpm --filter @kvsieve/runtime model-files --types all`; see the README.

const STEPS = 8;
const LAYERS = 1;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function webgpu(): Promise<Backend & { destroy(): void }> {
  const kernels = '@kvsieve/kernels-webgpu';
  const mod = (await import(kernels)) as { createWebGpuBackend(): Promise<Backend & { destroy(): void }> };
  return mod.createWebGpuBackend();
}

function fileCase(spec: ArchSpec, backends: readonly ('cpu' | 'webgpu')[]) {
  it(`${spec.name} Q4_K_M: chat prompt ids and ${STEPS} greedy tokens as llama.cpp's, resident bytes = file bytes (${backends.join(', ')})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvsieve-model-file-'));
    dirs.push(dir);
    const path = join(dir, `${spec.name}.gguf`);
    const file = writeArchGguf(path, spec, LAYERS, typeOfFor('Q4_K_M', LAYERS), 3, {
      embed: embedScale(spec),
      layer: 0.05,
    });
    let ref: Reference | undefined;
    let prompt: number[] = [];
    for (const name of backends) {
      const backend = name === 'cpu' ? new CpuBackend() : await webgpu();
      try {
        const model = await loadModel(path, { backend });
        try {
          if (!ref) {
            const chat = renderChat(model.tokenizer, [{ role: 'user', content: CHAT_PROMPT }]);
            prompt = model.tokenizer.encode(chat.text, { addSpecial: false });
            ref = llamaCppChat(path, chat.text, STEPS, dir);
            expect(prompt).toEqual(ref.promptTokens);
          }
          expect(model.weightBytes()).toBe(file.tensorBytes - (spec.llama3Rope ? spec.headDim * 2 : 0));
          const r = await compareWithLlamaCpp(model, prompt, ref);
          console.log(
            `${spec.name} Q4_K_M (${name}): ${r.equal}/${STEPS} equal, near-ties ${JSON.stringify(r.nearTies)}, max |Δlogit| ${r.maxDelta.toExponential(1)}`,
          );
          expect(r.failures).toEqual([]);
          expect(r.equal + r.nearTies.length).toBe(STEPS);
        } finally {
          model.dispose();
        }
      } finally {
        if ('destroy' in backend) (backend as { destroy(): void }).destroy();
      }
    }
    // A 128K-151K vocabulary is written, tokenized and projected on every step: ~20-40 s on an
    // idle 2-core machine, several times that when the machine is shared.
  }, 360_000);
}

const byName = (n: string) => ARCH_SPECS.find((s) => s.name === n)!;

describe('generated GGUFs of each architecture with real vocabularies agree with llama.cpp', () => {
  fileCase(byName('Llama-3.2-1B'), ['cpu']);
  fileCase(byName('Qwen2.5-0.5B'), ['cpu']);
  fileCase(byName('Qwen3-0.6B'), ['cpu']);
});

describeShared(
  'a SmolLM2-shape GGUF (vocabulary from ../shared) agrees with llama.cpp',
  [SMOLLM2_DIR],
  () => {
    fileCase(byName('SmolLM2-135M'), ['cpu', 'webgpu']);
  },
);
