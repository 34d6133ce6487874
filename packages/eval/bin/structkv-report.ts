/**
 * StructKV on real English text. Per prompt: the pivot the online rule found, the pivot the offline
 * rule `argmax T + 1` would pick with every layer's statistics in hand (measured on a prefill that
 * propagates nothing), the tokens each layer computed on, prefill token-layers against a full prefill
 * (compute saved), and next-token fidelity against the full cache (top-1 agreement and mean KL over
 * `--tokens` teacher-forced steps) for StructKV, for the same memory budget with no propagation
 * (computeBudget 100%), and for SnapKV at the same memory budget and window, all in the same run.
 *
 *   pnpm --filter @kvsieve/eval structkv-report [--model PATH] [--data DIR]
 *        [--essays a.txt,b.txt] [--lengths 256,480] [--tokens 32] [--context 512]
 *        [--budget 10%] [--compute-budget 20%] [--pivot auto|N] [--difference backward|forward]
 *
 * Prompts are the first `length` tokens of each essay with the model's tokenizer. Prompt + generated
 * tokens must fit the context the model was trained with (stories260K: 512, although its metadata
 * claims more).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CpuBackend, OptionError } from '@kvsieve/core';
import { snapkv } from '@kvsieve/methods-snapkv';
import {
  type PivotDifference,
  type StructKVRun,
  structkv,
  transitionScores,
} from '@kvsieve/methods-structkv';
import { loadModel } from '@kvsieve/runtime';
import { parseBudgets, runFidelity } from '../src/index.js';
import { runCommand } from './common.js';

const SHARED = resolve(import.meta.dirname ?? '.', '../../../../shared');

function positiveInts(name: string, text: string): number[] {
  const xs = text.split(',').map(Number);
  if (xs.some((x) => !Number.isInteger(x) || x < 1))
    throw new OptionError(`--${name} must be comma-separated positive integers, got ${JSON.stringify(text)}`);
  return xs;
}

function oneBudget(text: string, name: string) {
  const b = parseBudgets(text, `--${name}`);
  if (b.length !== 1) throw new OptionError(`--${name} takes one budget, got ${JSON.stringify(text)}`);
  return b[0]!;
}

const fid = (r: { agreeing: number; meanKl: number }, T: number) =>
  `${r.agreeing}/${T}, ${r.meanKl.toPrecision(3)}`;

async function main(): Promise<void> {
  const { values: o } = parseArgs({
    options: {
      model: { type: 'string', default: join(SHARED, 'models/stories260K/stories260K.gguf') },
      data: { type: 'string', default: join(SHARED, 'data/paul-graham-essays') },
      essays: { type: 'string', default: 'addiction.txt,hubs.txt,love.txt,wisdom.txt' },
      lengths: { type: 'string', default: '256,480' },
      tokens: { type: 'string', default: '32' },
      context: { type: 'string', default: '512' },
      budget: { type: 'string', default: '10%' },
      'compute-budget': { type: 'string', default: '20%' },
      pivot: { type: 'string', default: 'auto' },
      difference: { type: 'string', default: 'backward' },
    },
  });
  const lengths = positiveInts('lengths', o.lengths!);
  const T = positiveInts('tokens', o.tokens!)[0]!;
  const context = positiveInts('context', o.context!)[0]!;
  const memory = oneBudget(o.budget!, 'budget');
  const compute = oneBudget(o['compute-budget']!, 'compute-budget');
  const pivot = o.pivot === 'auto' ? 'auto' : Number(o.pivot);
  const difference = o.difference as PivotDifference;
  const method = structkv({ budget: memory.budget, computeBudget: compute.budget, pivot, difference });
  const window = method.options.window;
  const memoryOnly = structkv({ budget: memory.budget, computeBudget: { ratio: 1 }, pivot, difference });
  const reference = snapkv({ budget: memory.budget, window });

  const model = await loadModel(o.model!, { backend: new CpuBackend() });
  const N = model.config.numLayers;
  // Statistics of every layer on a prefill that propagates nothing: the pivot range is the last
  // layer only, which the rule reaches without propagating (there is no deeper layer).
  const observer = structkv({
    budget: memory.budget,
    minPivot: N - 1,
    maxPivot: N - 1,
    difference: 'backward',
  });
  console.log(
    `model ${o.model} (${N} layers), budget ${memory.label}, computeBudget ${compute.label}, window ${window}, pivot ${o.pivot}, difference ${difference}; fidelity: top-1 agreement and mean KL(full ‖ compressed) in nats over ${T} teacher-forced tokens\n`,
  );
  console.log(
    '| prompt | tokens | online L* | offline argmax T + 1 | T₁…T₄ (all layers) | tokens computed per layer | token-layers (StructKV / full) | compute saved | StructKV | no propagation | SnapKV |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  let sumWork = 0;
  let sumFull = 0;
  for (const essay of o.essays!.split(',')) {
    let text: string;
    try {
      text = readFileSync(join(o.data!, essay), 'utf8');
    } catch (e) {
      throw new OptionError(
        `--essays ${essay}: cannot read ${join(o.data!, essay)} (${(e as Error).message}); name files of --data ${o.data}`,
      );
    }
    const ids = model.tokenizer.encode(text);
    for (const length of lengths) {
      if (length + T > context) {
        throw new OptionError(
          `--lengths ${length} + --tokens ${T} exceeds the context of ${context}; shorten the prompt`,
        );
      }
      if (ids.length < length)
        throw new OptionError(`${essay} is only ${ids.length} tokens; ask for fewer with --lengths`);
      const prompt = ids.slice(0, length);
      const pre = await model.start(prompt, { method });
      const online = (pre.run as StructKVRun).pivotReport();
      pre.dispose();
      const all = await model.start(prompt, { method: observer });
      const signals = (all.run as StructKVRun).pivotReport().signals;
      all.dispose();
      const t = transitionScores(signals, method.options.weights);
      let best = 1;
      for (let k = 2; k < t.length; k++) if (t[k]! > t[best]!) best = k;
      // 'backward': T_k is the change into layer k, L* = k + 1; 'forward': T_{k−1}, L* = k.
      const offline = difference === 'backward' ? best + 1 : best;
      const work = pre.layers.reduce((a, l) => a + l.tokens, 0);
      sumWork += work;
      sumFull += length * N;
      const f = await runFidelity({
        model,
        prompt,
        tokens: T,
        maxContext: context,
        candidates: [
          { name: 'structkv', method },
          { name: 'no propagation', method: memoryOnly },
          { name: 'snapkv', method: reference },
        ],
      });
      const [s, m, r] = f.results as [(typeof f.results)[0], (typeof f.results)[0], (typeof f.results)[0]];
      console.log(
        `| ${essay} | ${length} | ${online.pivot ?? 'none'} (${online.reason ?? '–'}) | ${offline}${offline >= N ? ' (past the last layer)' : ''} | ${Array.from(t.slice(1), (x) => x.toFixed(2)).join(' / ')} | ${pre.layers.map((l) => l.tokens).join('/')} | ${work} / ${length * N} | ${((1 - work / (length * N)) * 100).toFixed(1)}% | ${fid(s, T)} | ${fid(m, T)} | ${fid(r, T)} |`,
      );
    }
  }
  console.log(
    `\nall prompts: ${sumWork} / ${sumFull} token-layers, ${((1 - sumWork / sumFull) * 100).toFixed(1)}% of the prefill's token-layers saved`,
  );
  model.dispose();
}

runCommand(main);
