import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend, OptionError } from '@kvsieve/core';
import { h2o } from '@kvsieve/methods-h2o';
import { snapkv } from '@kvsieve/methods-snapkv';
import { streamingllm } from '@kvsieve/methods-streamingllm';
import { byteLevelTokenizerJson, generate, loadModel, type Model, writeRandomModel } from '@kvsieve/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fidelityTable, klDivergence, runFidelity } from '../src/index.js';

const LAYERS = 2;
const KV_HEADS = 2;
const PROMPT = Array.from({ length: 40 }, (_, i) => (i * 37 + 11) % 256);
const T = 12;

let dir: string;
let model: Model;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kvsieve-eval-'));
  writeRandomModel(dir, {
    config: {
      model_type: 'llama',
      hidden_size: 32,
      intermediate_size: 64,
      num_attention_heads: 4,
      num_key_value_heads: KV_HEADS,
      num_hidden_layers: LAYERS,
      vocab_size: 260,
      max_position_embeddings: 64,
      rms_norm_eps: 1e-5,
      eos_token_id: 256,
    },
    tokenizer: byteLevelTokenizerJson(3),
    seed: 7,
  });
  model = await loadModel(dir, { backend: new CpuBackend() });
});

afterAll(() => {
  model?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('runFidelity on a tiny random model', () => {
  it('gives agreement 1 and KL 0 exactly when the budget holds the whole prompt, and fewer bytes when it compresses', async () => {
    const report = await runFidelity({
      model,
      prompt: PROMPT,
      tokens: T,
      candidates: [
        { name: 'snapkv-whole', method: snapkv({ budget: 64, window: 8 }), budget: '64 tokens' },
        { name: 'streamingllm', method: streamingllm({ budget: 10, sinks: 2 }), budget: '10 tokens' },
        { name: 'h2o', method: h2o({ budget: { ratio: 0.5 }, window: 4 }), budget: '50%' },
      ],
    });
    expect(report.reference.continuation).toHaveLength(T);
    expect(report.reference.logProbs).toHaveLength(T);
    const fullUsed = model.fullCacheBytes(PROMPT.length);
    expect(report.reference.cache.used).toBe(fullUsed);
    expect(report.reference.cache.keptPerLayer).toEqual([PROMPT.length * KV_HEADS, PROMPT.length * KV_HEADS]);

    const [whole, sllm, heavy] = report.results;
    expect(whole!.top1Agreement).toBe(1);
    expect(whole!.firstMismatch).toBe(-1);
    expect(whole!.meanKl).toBe(0);
    expect(whole!.maxKl).toBe(0);
    expect(whole!.cache.used).toBe(fullUsed);
    expect(whole!.usedRatio).toBe(1);
    expect(whole!.notes.join(' ')).toMatch(/nothing evicted/);

    expect(sllm!.cache.keptPerLayer).toEqual([10 * KV_HEADS, 10 * KV_HEADS]);
    expect(sllm!.cache.used).toBe(model.fullCacheBytes(10));
    expect(sllm!.cache.used).toBeLessThan(fullUsed);
    expect(sllm!.usedRatio).toBeCloseTo(10 / PROMPT.length, 12);
    expect(heavy!.cache.keptPerLayer).toEqual([20 * KV_HEADS, 20 * KV_HEADS]);
    for (const r of [sllm!, heavy!]) {
      expect(r.klPerStep).toHaveLength(T);
      expect(r.meanKl).toBeGreaterThan(0);
      expect(Number.isFinite(r.meanKl)).toBe(true);
      expect(r.top1Agreement).toBe(r.agreeing / T);
    }

    const table = fidelityTable(report);
    expect(table).toContain('| full cache | 100% |');
    expect(table).toMatch(/\| snapkv-whole \| 64 tokens \|.*\| 12\/12 \(100\.0%\) \| 0 \| 0 \|/);
    expect(table).toContain(
      `${model.fullCacheBytes(10).toLocaleString('en-US')} / ${fullUsed.toLocaleString('en-US')} (25.0%)`,
    );
  });

  it('follows the runtime: greedy continuation equals generate(), and each step is teacher-forced at its position', async () => {
    const method = streamingllm({ budget: 12, sinks: 4 });
    const report = await runFidelity({
      model,
      prompt: PROMPT,
      tokens: T,
      candidates: [{ name: 's', method }],
    });
    const gen = generate(model, PROMPT, { maxTokens: T, temperature: 0, stopTokens: [] });
    let r = await gen.next();
    while (!r.done) r = await gen.next();
    expect(report.reference.continuation).toEqual(r.value.tokens);

    // Independent replay: full and compressed caches side by side, fed the same tokens.
    const full = await model.start(PROMPT);
    const comp = await model.start(PROMPT, { method });
    let fl = full.logits;
    let cl = comp.logits;
    const cont = report.reference.continuation;
    for (let t = 0; t < T; t++) {
      expect(report.results[0]!.klPerStep[t]).toBeCloseTo(klDivergence(fl, cl), 12);
      if (t + 1 < T) {
        fl = (await full.step(cont[t]!)).logits!;
        cl = (await comp.step(cont[t]!)).logits!;
      }
    }
    full.dispose();
    comp.dispose();
  });

  it('rejects bad options with an OptionError saying what to change', async () => {
    const cand = [{ name: 's', method: streamingllm({ budget: 8 }) }];
    const run = (o: Partial<Parameters<typeof runFidelity>[0]>) =>
      runFidelity({ model, prompt: PROMPT, tokens: T, candidates: cand, ...o });
    await expect(run({ tokens: 0 })).rejects.toThrow(/tokens must be a positive integer, got 0/);
    await expect(run({ prompt: [] })).rejects.toThrow(/the prompt is empty/);
    await expect(run({ tokens: 30 })).rejects.toThrow(OptionError);
    await expect(run({ tokens: 30 })).rejects.toThrow(
      /prompt \(40\) \+ tokens \(30\) = 70 exceeds the context of 64/,
    );
    await expect(run({ maxContext: 48, tokens: 9 })).rejects.toThrow(/exceeds the context of 48/);
    await expect(run({ maxContext: 100 })).rejects.toThrow(/maxContext must be an integer in \[2, 64\]/);
    await expect(run({ candidates: [] })).rejects.toThrow(/candidates is empty/);
    await expect(run({ candidates: [...cand, ...cand] })).rejects.toThrow(/"s" .* is listed twice/);
  });
});
