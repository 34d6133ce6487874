/**
 * Fidelity of every method package against the full cache on a real model (default stories260K):
 * a greedy continuation with the full cache, then each method at each budget teacher-forced on it.
 * Prints a markdown table (top-1 agreement, mean/max KL, cache bytes kept vs full).
 *
 *   pnpm --filter @kvsieve/eval fidelity [--model PATH] [--prompt-tokens 400] [--tokens 64]
 *        [--budgets 25%,50%] [--backend cpu|wasm|webgpu] [--context 512] [--json FILE]
 *
 * The prompt is FIDELITY_STORY (src/fidelity/story.ts), an original children's story, cut to
 * --prompt-tokens tokens. --context is the context the model was trained with (stories260K: 512,
 * though its metadata says 2048); prompt + tokens must fit in it.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type Budget, type CompressionMethod, OptionError } from '@kvsieve/core';
import { adakv } from '@kvsieve/methods-adakv';
import { chunkkv } from '@kvsieve/methods-chunkkv';
import { h2o } from '@kvsieve/methods-h2o';
import { pyramidkv } from '@kvsieve/methods-pyramidkv';
import { snapkv } from '@kvsieve/methods-snapkv';
import { streamingllm } from '@kvsieve/methods-streamingllm';
import { structkv } from '@kvsieve/methods-structkv';
import { calibrate, loadProfile, type SlkvProfile, surfacelogickv } from '@kvsieve/methods-surfacelogickv';
import { loadModel } from '@kvsieve/runtime';
import {
  describeParams,
  FIDELITY_STORY,
  type FidelityCandidate,
  fidelityTable,
  parseBudgets,
  runFidelity,
} from '../src/index.js';
import { DEFAULT_MODEL, makeBackend, packageFile, positiveInt, runCommand, SLKV_FIXTURE } from './common.js';

/**
 * SurfaceLogicKV's head profile: --slkv-profile FILE, else the stories260K profile committed with
 * the method package when the model is the default one, else a teacher-forced calibration of this
 * model now (stories260K: about 17 s on CPU).
 */
async function slkvProfile(
  model: Parameters<typeof calibrate>[0],
  file: string | undefined,
  modelPath: string,
): Promise<{ profile: SlkvProfile; source: string }> {
  const path =
    file ??
    (modelPath === DEFAULT_MODEL ? packageFile('@kvsieve/methods-surfacelogickv', SLKV_FIXTURE) : undefined);
  if (path) return { profile: loadProfile(path), source: path };
  const t0 = performance.now();
  const profile = await calibrate(model, { answer: 'teacher' });
  return {
    profile,
    source: `calibrated in this run (--answer teacher, ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  };
}

async function main(): Promise<void> {
  const { values: o } = parseArgs({
    options: {
      model: { type: 'string', default: DEFAULT_MODEL },
      'prompt-tokens': { type: 'string', default: '400' },
      tokens: { type: 'string', default: '64' },
      budgets: { type: 'string', default: '25%,50%' },
      backend: { type: 'string', default: 'cpu' },
      context: { type: 'string', default: '512' },
      json: { type: 'string' },
      'slkv-profile': { type: 'string' },
    },
  });

  const promptTokens = positiveInt('prompt-tokens', o['prompt-tokens']!);
  const tokens = positiveInt('tokens', o.tokens!);
  const context = positiveInt('context', o.context!);
  const budgets = parseBudgets(o.budgets!);

  const t0 = performance.now();
  const backend = await makeBackend(o.backend!);
  const model = await loadModel(o.model!, { backend });
  try {
    const slkv = await slkvProfile(model, o['slkv-profile'], o.model!);
    const METHODS: readonly [string, (budget: Budget) => CompressionMethod][] = [
      ['snapkv', (budget) => snapkv({ budget })],
      ['pyramidkv', (budget) => pyramidkv({ budget })],
      ['streamingllm', (budget) => streamingllm({ budget })],
      ['h2o', (budget) => h2o({ budget })],
      ['adakv(snapkv)', (budget) => adakv(snapkv({ budget }))],
      ['chunkkv', (budget) => chunkkv({ budget })],
      ['chunkkv reuse 2', (budget) => chunkkv({ budget, reuse: 2 })],
      // StructKV's default compute budget (20%) is below these memory budgets, which it refuses:
      // the lowest it allows is the memory budget itself (most compute saved).
      ['structkv compute = budget', (budget) => structkv({ budget, computeBudget: budget })],
      ['structkv compute 60%', (budget) => structkv({ budget, computeBudget: { ratio: 0.6 } })],
      ['structkv compute 100%', (budget) => structkv({ budget, computeBudget: { ratio: 1 } })],
      ['surfacelogickv', (budget) => surfacelogickv({ budget, profile: slkv.profile })],
    ];

    const ids = model.tokenizer.encode(FIDELITY_STORY);
    if (ids.length < promptTokens) {
      throw new OptionError(
        `--prompt-tokens ${promptTokens}: the story is only ${ids.length} tokens with this model's tokenizer; ask for at most ${ids.length}`,
      );
    }
    const prompt = ids.slice(0, promptTokens);
    const candidates: FidelityCandidate[] = budgets.flatMap(({ label, budget }) =>
      METHODS.map(([name, make]) => {
        const method = make(budget);
        // The profile is data, not a setting; unset optional settings (undefined) are not shown.
        const shown = Object.entries(method.options).filter(([k, v]) => k !== 'profile' && v !== undefined);
        return { name, method, budget: label, params: describeParams(Object.fromEntries(shown)) };
      }),
    );
    const report = await runFidelity({
      model,
      prompt,
      tokens,
      candidates,
      maxContext: context,
      onProgress: (done, total, label) => process.stderr.write(`[${done}/${total}] ${label}\n`),
    });
    const seconds = (performance.now() - t0) / 1000;
    const decode = (ids: readonly number[]) => JSON.stringify(model.tokenizer.decode([...ids]));
    console.log(
      `Fidelity against the full cache: ${o.model} on ${backend.name ?? o.backend}, prompt ${promptTokens} tokens (FIDELITY_STORY), ${tokens} tokens generated greedily with the full cache and teacher-forced into each compressed cache.\n`,
    );
    console.log(`Prompt ends: …${decode(prompt.slice(-24))}`);
    console.log(`Full-cache continuation: ${decode(report.reference.continuation)}`);
    console.log(`SurfaceLogicKV profile: ${slkv.source}\n`);
    console.log(fidelityTable(report));
    console.log('');
    for (const r of report.results) {
      if (r.notes.length > 0) console.log(`- ${r.name} ${r.budget}: ${r.notes.join('; ')}`);
      // The table shows the mean per KV head; say so where a method gives heads different counts.
      if (r.cache.keptPerHead.some((h) => h.some((n) => n !== h[0]))) {
        const perHead = r.cache.keptPerHead.map((h) => `[${[...h].join(', ')}]`).join(' ');
        console.log(`- ${r.name} ${r.budget}: kept per KV head, layer 0 first: ${perHead}`);
      }
    }
    console.log(
      `\nKL is KL(full ‖ compressed) in nats per step, averaged over ${tokens} steps (step 0 is the distribution after the prompt: prefill attends to the whole prompt in every layer before compacting, so it equals the full cache's in every method). Total ${seconds.toFixed(1)} s (full cache ${report.reference.seconds.toFixed(2)} s; methods ${report.results.map((r) => r.seconds.toFixed(2)).join(', ')} s).`,
    );
    if (o.json) {
      writeFileSync(
        o.json,
        JSON.stringify(
          {
            model: o.model,
            backend: o.backend,
            promptTokens,
            tokens,
            continuation: report.reference.continuation,
            fullCache: { allocated: report.reference.cache.allocated, used: report.reference.cache.used },
            results: report.results.map((r) => ({
              name: r.name,
              budget: r.budget,
              params: r.params,
              top1Agreement: r.top1Agreement,
              meanKl: r.meanKl,
              maxKl: r.maxKl,
              firstMismatch: r.firstMismatch,
              klPerStep: [...r.klPerStep],
              allocatedBytes: r.cache.allocated,
              usedBytes: r.cache.used,
              keptPerHead: r.cache.keptPerHead.map((h) => [...h]),
              notes: r.notes,
            })),
          },
          null,
          2,
        ),
      );
    }
  } finally {
    model.dispose();
    backend.destroy?.();
  }
}

runCommand(main);
