import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend, OptionError, withDecodeBudget } from '@kvsieve/core';
import { adakv } from '@kvsieve/methods-adakv';
import { h2oDecode } from '@kvsieve/methods-h2o';
import { pyramidkv } from '@kvsieve/methods-pyramidkv';
import { snapkv } from '@kvsieve/methods-snapkv';
import { byteLevelTokenizerJson, loadModel, type Model, writeRandomModel } from '@kvsieve/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBudgetTable, runDecodeBudget } from '../src/index.js';

const LAYERS = 2;
const KV_HEADS = 2;
const D = 8;
const ROW = 2 * D * 4 + 4; // key, value (f32) and position per entry
const PROMPT = Array.from({ length: 48 }, (_, i) => (i * 37 + 11) % 256);
const TOKENS = 300;

let dir: string;
let model: Model;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kvsieve-decode-budget-'));
  writeRandomModel(dir, {
    config: {
      model_type: 'llama',
      hidden_size: 32,
      intermediate_size: 64,
      num_attention_heads: 4,
      num_key_value_heads: KV_HEADS,
      num_hidden_layers: LAYERS,
      vocab_size: 260,
      max_position_embeddings: 512,
      rms_norm_eps: 1e-5,
      eos_token_id: 256,
    },
    tokenizer: byteLevelTokenizerJson(3),
    seed: 11,
  });
  model = await loadModel(dir, { backend: new CpuBackend() });
});

afterAll(() => {
  model?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('decode-time budgets keep the cache flat', () => {
  it(`H2O decode and a sliding SnapKV budget hold budget + slack rows for ${TOKENS} tokens`, async () => {
    const budget = 32;
    const slack = 8;
    const traces = await runDecodeBudget(
      model,
      PROMPT,
      [
        { name: 'full' },
        { name: 'h2o-decode', method: h2oDecode({ budget, recent: 8, slack }) },
        {
          name: 'snapkv+sliding',
          method: withDecodeBudget(snapkv({ budget, window: 8 }), { budget, sinks: 4, slack }),
        },
        // A prompt shorter than the budget: nothing evicted at prefill, the budget holds during decode.
        { name: 'h2o-decode long budget', method: h2oDecode({ budget: 64, recent: 8, slack }) },
        // Layers given more than the budget at prefill (pyramid) and ragged heads (AdaKV) are capped.
        {
          name: 'pyramidkv+sliding',
          method: withDecodeBudget(pyramidkv({ budget, window: 8 }), { budget, sinks: 4, slack }),
        },
        {
          name: 'adakv+sliding',
          method: withDecodeBudget(adakv(snapkv({ budget, window: 8 })), { budget, sinks: 4, slack }),
        },
      ],
      { tokens: TOKENS, every: 50 },
    );
    const [full, h2o, sliding, long, pyramid, ada] = traces;
    const reserved = (rows: number) => LAYERS * KV_HEADS * rows * ROW;
    // The full cache keeps growing.
    expect(full!.samples.at(-1)!.used).toBe(LAYERS * KV_HEADS * (PROMPT.length + TOKENS - 1) * ROW);
    expect(full!.allocatedRange[1]).toBeGreaterThan(reserved(PROMPT.length + TOKENS - 1) - 1);
    for (const [t, rows] of [
      [h2o!, budget + slack],
      [sliding!, budget + slack],
      [long!, 64 + slack],
      [pyramid!, budget + slack],
      [ada!, budget + slack],
    ] as const) {
      // Flat: every step after prefill has exactly the reserved allocation, never more.
      expect(t.allocatedRange, t.name).toEqual([reserved(rows), reserved(rows)]);
      for (const s of t.samples) {
        expect(s.allocated, t.name).toBe(reserved(rows));
        expect(s.used, t.name).toBeLessThanOrEqual(reserved(rows));
      }
      // Evictions really happened: at the end each head holds between budget and budget + slack.
      const last = t.samples.at(-1)!.used / (LAYERS * KV_HEADS * ROW);
      expect(last, t.name).toBeGreaterThanOrEqual(rows - slack);
      expect(last, t.name).toBeLessThanOrEqual(rows);
    }
    const table = decodeBudgetTable(traces);
    expect(table.split('\n')).toHaveLength(2 + full!.samples.length);
    expect(table).toContain('| 300 |');
  });

  it('rejects a run longer than the model and bad counts', async () => {
    await expect(
      runDecodeBudget(model, PROMPT, [{ name: 'full' }], { tokens: 500, every: 10 }),
    ).rejects.toThrow(/exceed the model's 512 positions/);
    await expect(runDecodeBudget(model, PROMPT, [{ name: 'full' }], { tokens: 5, every: 0 })).rejects.toThrow(
      OptionError,
    );
  });
});
