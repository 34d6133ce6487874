/**
 * Decode-time budgets on a real model (default stories260K): generate --tokens tokens greedily
 * with the full cache, with H2O's decode form and with SnapKV under a sliding decode budget, and
 * print the cache's allocated (and used) bytes every --every tokens. A budget shows as a flat line.
 *
 *   pnpm --filter @kvsieve/eval decode-budget [--model PATH] [--prompt-tokens 256] [--tokens 1000]
 *        [--every 100] [--budget 128] [--recent 32] [--slack 16] [--backend cpu|wasm|webgpu]
 *
 * prompt + tokens must fit the model's positions (Model.config.maxPositions; stories260K's
 * metadata allows 2048, though it was trained on 512: text past that is poor, bytes are what count).
 */
import { parseArgs } from 'node:util';
import { OptionError, withDecodeBudget } from '@kvsieve/core';
import { h2oDecode } from '@kvsieve/methods-h2o';
import { snapkv } from '@kvsieve/methods-snapkv';
import { loadModel } from '@kvsieve/runtime';
import { decodeBudgetTable, FIDELITY_STORY, runDecodeBudget } from '../src/index.js';
import { DEFAULT_MODEL, makeBackend, positiveInt, runCommand } from './common.js';

async function main(): Promise<void> {
  const { values: o } = parseArgs({
    options: {
      model: { type: 'string', default: DEFAULT_MODEL },
      'prompt-tokens': { type: 'string', default: '256' },
      tokens: { type: 'string', default: '1000' },
      every: { type: 'string', default: '100' },
      budget: { type: 'string', default: '128' },
      recent: { type: 'string', default: '32' },
      slack: { type: 'string', default: '16' },
      backend: { type: 'string', default: 'cpu' },
    },
  });
  const promptTokens = positiveInt('prompt-tokens', o['prompt-tokens']!);
  const tokens = positiveInt('tokens', o.tokens!);
  const every = positiveInt('every', o.every!);
  const budget = positiveInt('budget', o.budget!);
  const recent = positiveInt('recent', o.recent!);
  const slack = positiveInt('slack', o.slack!);

  const backend = await makeBackend(o.backend!);
  const model = await loadModel(o.model!, { backend });
  try {
    const ids = model.tokenizer.encode(FIDELITY_STORY);
    if (ids.length < promptTokens) {
      throw new OptionError(
        `--prompt-tokens ${promptTokens}: the story is only ${ids.length} tokens with this model's tokenizer; ask for at most ${ids.length}`,
      );
    }
    const prompt = ids.slice(0, promptTokens);
    const candidates = [
      { name: 'full cache' },
      {
        name: `h2o decode (budget ${budget}, recent ${recent})`,
        method: h2oDecode({ budget, recent, slack }),
      },
      {
        name: `snapkv + sliding budget ${budget}`,
        method: withDecodeBudget(snapkv({ budget, window: Math.min(32, budget - 1) }), {
          budget,
          sinks: 4,
          slack,
        }),
      },
    ];
    const traces = await runDecodeBudget(model, prompt, candidates, { tokens, every });
    const c = model.config;
    console.log(
      `Decode-time budgets: ${o.model} on ${backend.name}, prompt ${promptTokens} tokens (FIDELITY_STORY), ${tokens} tokens generated greedily (stop tokens ignored); model: ${c.numLayers} layers × ${c.numKvHeads} KV heads × head dim ${c.headDim}, ${model.config.maxPositions} positions. Slack ${slack}: heads grow to budget + slack, then are evicted back to budget in one batch.\n`,
    );
    console.log(decodeBudgetTable(traces));
    console.log('');
    for (const t of traces) {
      const [lo, hi] = t.allocatedRange;
      console.log(
        `- ${t.name}: allocated ${lo === hi ? `${lo.toLocaleString('en-US')} bytes at every decode step` : `from ${lo.toLocaleString('en-US')} to ${hi.toLocaleString('en-US')} bytes`} (${t.seconds.toFixed(1)} s)`,
      );
    }
  } finally {
    model.dispose();
    backend.destroy?.();
  }
}

runCommand(main);
