import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpuBackend } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import { argmax, loadModel } from '../src/index.js';
import { type GgufTensorType, writeGguf } from './fixtures/gguf-writer.js';
import { q4kmType, quantizedModel, type WeightScales } from './fixtures/quant-model.js';
import { ggufMetadata } from './fixtures/tiny-gguf.js';
import type { TinyShape } from './fixtures/tiny-model.js';

// llama.cpp (node-llama-cpp 3.22.1, CPU) and kvsieve on the same quantized GGUF files.
//
// Embedding probes (the sharp check of the block formats): token_embd.weight quantized, every other
// tensor F32. llama.cpp dequantizes embedding rows exactly (get_rows) and multiplies F32 weights in
// f32, so the logits must agree to f32 rounding: this compares ggml's own dequantization of every
// row the run touches with core's.
//
// Whole files (as users download them): every matrix quantized (or llama.cpp's Q4_K_M mix).
// llama.cpp rounds activations to 8 bits (Q8_0 / Q8_K blocks) before each quantized matmul, which
// moves its logits by up to ~0.2 here; layer weights are small (±0.02) and each file's seed was
// picked so that no step's top-2 gap is near that, so greedy tokens must agree for all STEPS, and
// where they part, llama.cpp's token must be within NEAR_TIE of our top logit.
//
// The default run checks Q4_0, Q8_0, Q4_K, Q6_K and Q4_K_M (~30 s); KVSIEVE_QUANT_AGREEMENT=all
// (`pnpm --filter @kvsieve/runtime agreement:quant`) checks every format kvsieve reads.

const STEPS = 40;
const NEAR_TIE = 0.01;
const SHAPE: TinyShape = {
  architecture: 'llama',
  layers: 2,
  hidden: 256,
  heads: 4,
  kvHeads: 2,
  ffn: 512,
  vocab: 300,
  maxPositions: 128,
  tied: false,
};
const SCALES: WeightScales = { embed: 1, output: 0.5, layer: 0.02 };
const PROMPT = [1, 44, 280, 7, 150, 299, 12, 90];
const ALL = process.env.KVSIEVE_QUANT_AGREEMENT === 'all';
const DEFAULT_TYPES: readonly GgufTensorType[] = ['Q4_0', 'Q8_0', 'Q4_K', 'Q6_K'];

/** Seeds of the whole-file cases (see above); every other case uses 22. */
const SEEDS: Partial<Record<string, number>> = { Q4_1: 25, Q3_K: 25, Q6_K: 25, IQ4_NL: 25, IQ4_XS: 25 };
const TYPES: readonly GgufTensorType[] = ALL
  ? ['Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K', 'IQ4_NL', 'IQ4_XS']
  : DEFAULT_TYPES;

interface Reference {
  tokens: number[];
  logits: number[][];
}

function llamaCpp(path: string): Reference {
  const script = fileURLToPath(new URL('./reference/llama-cpp-ids.mjs', import.meta.url));
  const out = execFileSync(process.execPath, [script, path, JSON.stringify(PROMPT), String(STEPS)], {
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 64 << 20,
  });
  return JSON.parse(out);
}

interface Case {
  readonly name: string;
  readonly typeOf: (name: string) => GgufTensorType;
  readonly seed: number;
  /** Largest |Δlogit| accepted: f32 rounding for the probes, a sanity bound for whole files. */
  readonly maxDelta: number;
}

const CASES: Case[] = [
  ...TYPES.map((t) => ({
    name: `${t} embedding probe`,
    typeOf: (n: string) => (n === 'token_embd.weight' ? t : 'F32'),
    seed: 22,
    maxDelta: 1e-3,
  })),
  ...TYPES.map((t) => ({ name: `${t} file`, typeOf: () => t, seed: SEEDS[t] ?? 22, maxDelta: 0.5 })),
  { name: 'Q4_K_M file', typeOf: q4kmType(SHAPE.layers), seed: 22, maxDelta: 0.5 },
];

describe('quantized GGUF files: greedy tokens agree with llama.cpp', () => {
  it.each(CASES)('$name', async ({ name, typeOf, seed, maxDelta: bound }) => {
    const q = quantizedModel(SHAPE, typeOf, seed, SCALES);
    const path = join(mkdtempSync(join(tmpdir(), 'kvsieve-llama-q-')), 'model.gguf');
    writeGguf(path, ggufMetadata(SHAPE), q.tensors);
    const ref = llamaCpp(path);
    const model = await loadModel(path, { backend: new CpuBackend() });
    const session = await model.start(PROMPT);
    let logits = session.logits;
    let maxDelta = 0;
    let equal = 0;
    let partedAt = -1;
    let minGap = Number.POSITIVE_INFINITY;
    try {
      for (let s = 0; s < STEPS; s++) {
        const row = ref.logits[s]!;
        for (let i = 0; i < row.length; i++) maxDelta = Math.max(maxDelta, Math.abs(logits[i]! - row[i]!));
        const ours = argmax(logits);
        const sorted = Array.from(logits).sort((a, b) => b - a);
        minGap = Math.min(minGap, sorted[0]! - sorted[1]!);
        if (ours !== ref.tokens[s]) {
          partedAt = s;
          // A near-tie: llama.cpp's pick must be (nearly) as good as ours by our own logits.
          expect(logits[ours]! - logits[ref.tokens[s]!]!, `step ${s}`).toBeLessThan(NEAR_TIE);
          break;
        }
        equal++;
        if (s + 1 < STEPS) logits = (await session.step(ours)).logits!;
      }
    } finally {
      session.dispose();
      model.dispose();
    }
    console.log(
      `[llama.cpp agreement, ${name}] ${equal}/${STEPS} greedy tokens equal${partedAt >= 0 ? ` (near-tie at step ${partedAt})` : ''}, max |Δlogit| ${maxDelta.toExponential(2)}, smallest top-2 gap ${minGap.toExponential(2)}`,
    );
    expect(equal >= 32 || partedAt >= 0).toBe(true);
    expect(maxDelta).toBeLessThan(bound);
  });
});
