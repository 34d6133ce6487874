/**
 * ChunkKV's layer-wise index reuse: prefill + compression time with reuse 1 (every layer scores),
 * 2 and 3 in one run on the same model and prompt, plus each setting's fidelity against the full
 * cache. Prints a markdown table with reuse 1 as the baseline.
 *
 *   pnpm --filter @kvsieve/eval chunkkv-reuse [--model PATH] [--prompt-tokens 400] [--reps 30]
 *        [--budget 25%] [--tokens 64] [--backend cpu|wasm|webgpu] [--context 512]
 *
 * Settings are interleaved within each repetition (after one warm-up round) so drift in machine
 * load hits them alike; the table gives the median and the spread (min–max) of the repetitions,
 * and, separately, the time spent inside the method's `afterLayer` (scoring and selection), which
 * is what reuse removes.
 */
import { parseArgs } from 'node:util';
import { type CompressionMethod, OptionError } from '@kvsieve/core';
import { chunkkv } from '@kvsieve/methods-chunkkv';
import { loadModel } from '@kvsieve/runtime';
import { FIDELITY_STORY, parseBudgets, runFidelity } from '../src/index.js';
import { DEFAULT_MODEL, makeBackend, positiveInt, runCommand } from './common.js';

const REUSES = [1, 2, 3] as const;

/** The method unchanged, but the time its `afterLayer` calls take is added to `spent.ms`. */
function timed(method: CompressionMethod, spent: { ms: number }): CompressionMethod {
  return {
    ...method,
    begin(model, prompt) {
      const run = method.begin(model, prompt);
      return {
        ...run,
        async afterLayer(ctx) {
          const t0 = performance.now();
          try {
            return await run.afterLayer(ctx);
          } finally {
            spent.ms += performance.now() - t0;
          }
        },
      };
    },
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  const { values: o } = parseArgs({
    options: {
      model: { type: 'string', default: DEFAULT_MODEL },
      'prompt-tokens': { type: 'string', default: '400' },
      reps: { type: 'string', default: '30' },
      budget: { type: 'string', default: '25%' },
      tokens: { type: 'string', default: '64' },
      backend: { type: 'string', default: 'cpu' },
      context: { type: 'string', default: '512' },
    },
  });
  const promptTokens = positiveInt('prompt-tokens', o['prompt-tokens']!);
  const reps = positiveInt('reps', o.reps!);
  const tokens = positiveInt('tokens', o.tokens!);
  const context = positiveInt('context', o.context!);
  const budgets = parseBudgets(o.budget!, '--budget');
  if (budgets.length !== 1)
    throw new OptionError(`--budget takes one budget, got ${JSON.stringify(o.budget)}`);
  const { label, budget } = budgets[0]!;

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
    const methods = REUSES.map((reuse) => chunkkv({ budget, reuse }));
    const settings = [null, ...methods];
    const times = settings.map(() => [] as number[]);
    const methodTimes = settings.map(() => [] as number[]);
    for (let r = 0; r <= reps; r++) {
      for (const [i, method] of settings.entries()) {
        const spent = { ms: 0 };
        const t0 = performance.now();
        const pre = await model.start(prompt, method ? { method: timed(method, spent) } : {});
        const ms = performance.now() - t0;
        pre.dispose();
        if (r > 0) {
          // round 0 warms up
          times[i]!.push(ms);
          methodTimes[i]!.push(spent.ms);
        }
      }
      process.stderr.write(`[timing ${r}/${reps}]\n`);
    }
    const report = await runFidelity({
      model,
      prompt,
      tokens,
      maxContext: context,
      candidates: methods.map((method, i) => ({ name: `chunkkv reuse ${REUSES[i]}`, method, budget: label })),
      onProgress: (done, total, what) => process.stderr.write(`[fidelity ${done}/${total}] ${what}\n`),
    });

    const base = median(times[1]!);
    const methodBase = median(methodTimes[1]!);
    const rel = (m: number, b: number) => `${m < b ? '−' : '+'}${Math.abs(((m - b) / b) * 100).toFixed(1)}%`;
    console.log(
      `ChunkKV layer-wise index reuse: ${o.model} (${model.info.numLayers} layers) on ${backend.name ?? o.backend}, prompt ${promptTokens} tokens (FIDELITY_STORY), budget ${label}, chunkSize 10, window 32; prefill + compression time over ${reps} interleaved repetitions after a warm-up; fidelity over ${tokens} teacher-forced tokens.\n`,
    );
    console.log(
      '| setting | prefill + compression, median ms (min–max) | vs reuse 1 | method (afterLayer) ms, median | vs reuse 1 | layers scored | top-1 agreement | mean KL (nats) | max KL |',
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const [i, method] of settings.entries()) {
      const t = times[i]!;
      const m = median(t);
      const range = `${m.toFixed(1)} (${Math.min(...t).toFixed(1)}–${Math.max(...t).toFixed(1)})`;
      if (!method) {
        console.log(`| no compression | ${range} | ${rel(m, base)} | – | – | – | – | – | – |`);
        continue;
      }
      const reuse = REUSES[i - 1]!;
      const f = report.results[i - 1]!;
      const scored = Math.ceil(model.info.numLayers / reuse);
      const mm = median(methodTimes[i]!);
      const change = reuse === 1 ? 'baseline' : rel(m, base);
      const methodChange = reuse === 1 ? 'baseline' : rel(mm, methodBase);
      console.log(
        `| chunkkv reuse ${reuse} | ${range} | ${change} | ${mm.toFixed(2)} | ${methodChange} | ${scored}/${model.info.numLayers} | ${f.agreeing}/${tokens} (${(f.top1Agreement * 100).toFixed(1)}%) | ${f.meanKl.toPrecision(3)} | ${f.maxKl.toPrecision(3)} |`,
      );
    }
  } finally {
    model.dispose();
    backend.destroy?.();
  }
}

runCommand(main);
