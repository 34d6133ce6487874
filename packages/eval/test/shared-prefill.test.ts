import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CompressionMethod } from '@kvsieve/core';
import { adakv } from '@kvsieve/methods-adakv';
import { chunkkv } from '@kvsieve/methods-chunkkv';
import { h2o } from '@kvsieve/methods-h2o';
import { pyramidkv } from '@kvsieve/methods-pyramidkv';
import { snapkv } from '@kvsieve/methods-snapkv';
import { streamingllm } from '@kvsieve/methods-streamingllm';
import { structkv } from '@kvsieve/methods-structkv';
import { type DecodeSession, SharedPrefillError } from '@kvsieve/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EvalOptions,
  KVSIEVE_RECALL_TEMPLATE,
  parseBudgets,
  type ResultRow,
  runEval,
} from '../src/index.js';
import { tinyModel } from './tiny.js';

let tiny: Awaited<ReturnType<typeof tinyModel>>;
beforeAll(async () => {
  tiny = await tinyModel(11);
});
afterAll(() => tiny?.dispose());

const PROMPT = Array.from({ length: 150 }, (_, i) => (i * 53 + 7) % 256);

async function expectSame(a: DecodeSession, b: DecodeSession, layers: number): Promise<void> {
  expect(a.logits).toEqual(b.logits);
  expect(a.layers).toEqual(b.layers);
  expect(a.cache.bytes()).toBe(b.cache.bytes());
  for (let l = 0; l < layers; l++) {
    const x = a.cache.layer(l);
    const y = b.cache.layer(l);
    expect(await x.positions()).toEqual(await y.positions());
    expect(x.rowOffsets()).toEqual(y.rowOffsets());
    const vx = x.view();
    const vy = y.view();
    expect(await vx.keys.readF32()).toEqual(await vy.keys.readF32());
    expect(await vx.values.readF32()).toEqual(await vy.values.readF32());
  }
}

describe('Model.startShared with the method packages', () => {
  it('gives each method exactly its separate prefill: kept positions per head, K/V rows, logits, stats', async () => {
    const model = tiny.model;
    const methods: CompressionMethod[] = [
      snapkv({ budget: 40, window: 4 }),
      h2o({ budget: 40, window: 4 }),
      pyramidkv({ budget: 40, window: 4 }),
      streamingllm({ budget: 40 }),
      adakv(snapkv({ budget: 40, window: 4 })),
      chunkkv({ budget: 40, window: 4, chunkSize: 5 }),
      snapkv({ budget: { ratio: 0.5 }, window: 8 }),
    ];
    const shared = await model.startShared(PROMPT, [null, ...methods], { chunkSize: 64 });
    const full = await model.start(PROMPT, { chunkSize: 64 });
    await expectSame(shared.sessions[0]!, full, model.config.numLayers);
    full.dispose();
    for (const [i, method] of methods.entries()) {
      const alone = await model.start(PROMPT, { method, chunkSize: 64 });
      const mine = shared.sessions[i + 1]!;
      // Compressed for real.
      expect(mine.usedBytes()).toBeLessThan(model.fullCacheBytes(PROMPT.length));
      await expectSame(mine, alone, model.config.numLayers);
      alone.dispose();
      mine.dispose();
    }
    shared.sessions[0]!.dispose();
  });

  it('refuses StructKV once it propagates, or skips it when asked', async () => {
    const model = tiny.model;
    const s = structkv({ budget: 30, computeBudget: 60, window: 4, pivot: 0 });
    await expect(model.startShared(PROMPT, [null, s])).rejects.toThrow(SharedPrefillError);
    const shared = await model.startShared(PROMPT, [s, snapkv({ budget: 30, window: 4 })], {
      onPropagate: 'skip',
    });
    expect(shared.sessions[0]).toBeNull();
    expect(shared.skipped).toEqual([{ index: 0, name: s.name, layer: 0 }]);
    shared.sessions[1]!.dispose();
  });
});

describe('runEval with a shared prefill', () => {
  const tmp = () => mkdtempSync(join(tmpdir(), 'kvsieve-share-'));
  const options = (out: string, over: Partial<EvalOptions> = {}): EvalOptions => ({
    model: tiny.model,
    tasks: ['niah_single'],
    methods: [
      { name: 'snapkv', create: (budget) => snapkv({ budget, window: 4 }) },
      { name: 'h2o', create: (budget) => h2o({ budget, window: 4 }) },
      // Propagates past its pivot: falls back to its own prefill.
      {
        name: 'structkv',
        create: (budget) => structkv({ budget, computeBudget: budget, window: 4, pivot: 0 }),
      },
    ],
    budgets: parseBudgets('25%,50%'),
    lengths: [160],
    depths: [0, 100],
    samples: 1,
    seed: 3,
    template: KVSIEVE_RECALL_TEMPLATE,
    maxNewTokens: 6,
    out,
    ...over,
  });
  const stable = (rows: readonly ResultRow[]) => rows.map(({ seconds: _, ...r }) => r);
  const fileRows = (path: string) =>
    readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ResultRow);

  it('writes the same results.jsonl rows (but for seconds) as a prefill per run, resumed or not', async () => {
    const alone = await runEval(options(tmp(), { sharePrefill: false }));
    const shared = await runEval(options(tmp()));
    expect(shared.hash).toBe(alone.hash);
    expect(stable(shared.rows)).toEqual(stable(alone.rows));
    expect(stable(fileRows(shared.resultsPath))).toEqual(stable(fileRows(alone.resultsPath)));
    // The methods did compress, and StructKV (own prefill) differs from the full cache somewhere.
    expect(shared.rows.filter((r) => r.method !== 'full').every((r) => r.bytes.used < r.bytes.full)).toBe(
      true,
    );

    // Interrupted mid-prompt with sharing, resumed: the same rows again.
    const out = tmp();
    await expect(
      runEval(
        options(out, {
          onRow: (n) => {
            if (n === 4) throw new Error('interrupted');
          },
        }),
      ),
    ).rejects.toThrow('interrupted');
    const resumed = await runEval(options(out));
    expect(resumed.ran).toBe(alone.rows.length - 4);
    expect(stable(resumed.rows)).toEqual(stable(alone.rows));
  });
});
