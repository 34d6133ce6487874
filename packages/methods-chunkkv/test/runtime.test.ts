import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend, type Selection } from '@kvsieve/core';
import { byteLevelTokenizerJson, loadModel, writeRandomModel } from '@kvsieve/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { chunkkv } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'chunkkv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('chunkkv through the runtime on a tiny random model', () => {
  it('every layer keeps the same positions in all KV heads; reuse 2 copies layer 0 into layer 1 and 2 into 3', async () => {
    writeRandomModel(dir, {
      config: {
        architectures: ['LlamaForCausalLM'],
        model_type: 'llama',
        hidden_size: 32,
        intermediate_size: 64,
        num_hidden_layers: 4,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        vocab_size: 260,
        max_position_embeddings: 128,
        rms_norm_eps: 1e-5,
        rope_theta: 10000,
        tie_word_embeddings: false,
      },
      tokenizer: byteLevelTokenizerJson(),
      seed: 3,
    });
    const backend = new CpuBackend();
    const model = await loadModel(dir, { backend });
    const prompt = Array.from({ length: 57 }, (_, i) => (i * 37 + 11) % 256);
    const positions = async (reuse: number) => {
      const pre = await model.start(prompt, {
        method: chunkkv({ budget: 20, window: 4, chunkSize: 5, reuse }),
      });
      const out: Selection[] = [];
      for (let l = 0; l < 4; l++) out.push(await pre.cache.layer(l).positions());
      pre.dispose();
      return out;
    };
    const alone = await positions(1);
    const shared = await positions(2);
    for (const layer of alone) {
      expect(layer).toHaveLength(2);
      expect([...layer[1]!]).toEqual([...layer[0]!]);
      expect(layer[0]!.length).toBe(20);
      expect([...layer[0]!.slice(-4)]).toEqual([53, 54, 55, 56]);
    }
    // Layer 0 and 2 score as without reuse; layers 1 and 3 copy them.
    for (const [l, from] of [
      [0, 0],
      [1, 0],
      [2, 2],
      [3, 2],
    ] as const) {
      for (const h of [0, 1]) expect([...shared[l]![h]!]).toEqual([...alone[from]![h]!]);
    }
    // The random layers do choose differently, or the reuse check above would prove nothing.
    expect([...alone[1]![0]!]).not.toEqual([...alone[0]![0]!]);
    model.dispose();
  });
});
