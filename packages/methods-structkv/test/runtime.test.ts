import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend } from '@kvsieve/core';
import { byteLevelTokenizerJson, loadModel, type Model, writeRandomModel } from '@kvsieve/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StructKVRun, structkv } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'structkv-'));
let model: Model;
const PROMPT = Array.from({ length: 64 }, (_, i) => (i * 37 + 11) % 256);

beforeAll(async () => {
  writeRandomModel(dir, {
    config: {
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 6,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      vocab_size: 260,
      max_position_embeddings: 128,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      tie_word_embeddings: false,
    },
    tokenizer: byteLevelTokenizerJson(),
    seed: 5,
  });
  model = await loadModel(dir, { backend: new CpuBackend() });
});
afterAll(() => {
  model.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('structkv through the runtime on a tiny random model', () => {
  it('layers after the pivot compute only the propagated tokens, at their original positions', async () => {
    const method = structkv({ budget: 8, computeBudget: 16, window: 4, pivot: 2 });
    const pre = await model.start(PROMPT, { method });
    expect(pre.layers.map((l) => l.tokens)).toEqual([64, 64, 64, 16, 16, 16]);
    expect(pre.layers[2]!.propagated).toBe(16);
    expect(pre.layers[2]!.note).toMatch(
      /pivot L\*=2 \(fixed\); propagating 16 of 64 tokens to layers 3\.\.5; stored 8 of 64/,
    );
    // Layers 0..2 hold the whole prompt, so indices there are original positions; the propagated
    // tokens are the 12 best by centrality plus the window 60..63.
    const report = (pre.run as StructKVRun).pivotReport();
    expect(report).toMatchObject({ pivot: 2, reason: 'fixed', propagated: 16 });
    // What the deeper layers hold: subsets of the propagated positions (the cache's positions are
    // those RoPE was applied at), each with the window, 8 per KV head.
    const deep = await pre.cache.layer(3).positions();
    const propagatedPositions = new Set<number>();
    for (let l = 3; l < 6; l++) {
      for (const head of await pre.cache.layer(l).positions()) {
        expect(head).toHaveLength(8);
        expect([...head.slice(-4)]).toEqual([60, 61, 62, 63]);
        for (const p of head) propagatedPositions.add(p);
      }
    }
    expect(propagatedPositions.size).toBeLessThanOrEqual(16);
    // Original positions, not 0..15: they spread over the prompt.
    expect(Math.max(...deep[0]!.slice(0, -4))).toBeGreaterThan(15);
    for (let l = 0; l < 3; l++)
      for (const head of await pre.cache.layer(l).positions()) expect(head).toHaveLength(8);
    // Decoding continues from the compressed cache at the next position.
    const { logits } = await pre.step(5);
    expect(logits!.every(Number.isFinite)).toBe(true);
    pre.dispose();
  });

  it('the same memory budget without propagation computes every layer on the whole prompt', async () => {
    const propagating = await model.start(PROMPT, {
      method: structkv({ budget: 8, computeBudget: 16, window: 4, pivot: 2 }),
    });
    const memoryOnly = await model.start(PROMPT, {
      method: structkv({ budget: 8, computeBudget: { ratio: 1 }, window: 4, pivot: 2 }),
    });
    expect(memoryOnly.layers.map((l) => l.tokens)).toEqual([64, 64, 64, 64, 64, 64]);
    // Layers up to the pivot saw the same inputs and stored the same entries.
    for (let l = 0; l <= 2; l++) {
      expect((await propagating.cache.layer(l).positions()).map((h) => [...h])).toEqual(
        (await memoryOnly.cache.layer(l).positions()).map((h) => [...h]),
      );
    }
    // Deeper layers computed on different token sets, so the logits differ.
    expect(propagating.logits).not.toEqual(memoryOnly.logits);
    propagating.dispose();
    memoryOnly.dispose();
  });

  it('auto pivot: per-layer statistics in the stats notes and a pivot in the allowed range', async () => {
    const pre = await model.start(PROMPT, {
      method: structkv({ budget: 8, computeBudget: 16, window: 4 }),
    });
    const report = (pre.run as StructKVRun).pivotReport();
    // 6 layers, backward differences: pivots 2..4 are allowed by default.
    expect(report.pivot).toBeGreaterThanOrEqual(2);
    expect(report.pivot).toBeLessThanOrEqual(4);
    const p = report.pivot!;
    expect(report.signals).toHaveLength(p + 1);
    for (let l = 0; l <= p; l++) expect(pre.layers[l]!.note).toMatch(/^H=\S+ ρ=\S+ V=\S+ T=\S+/);
    expect(pre.layers.map((l) => l.tokens)).toEqual([...Array(p + 1).fill(64), ...Array(5 - p).fill(16)]);
    pre.dispose();
  });
});
