import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Budget, type CompressionMethod, OptionError } from '@kvsieve/core';
import type { Model } from '@kvsieve/runtime';
import type { LabelledBudget } from '../fidelity/options.js';
import { SegmentEncoder } from '../tasks/encoder.js';
import { DatasetError } from '../tasks/errors.js';
import { type Haystack, NOISE_HAYSTACK } from '../tasks/haystack.js';
import { loadRulerJsonl } from '../tasks/jsonl.js';
import { type TaskDefinition, type TaskSettings, taskByName } from '../tasks/registry.js';
import { type NiahTemplate, RULER_TEMPLATE } from '../tasks/templates.js';
import type { TaskSample } from '../tasks/types.js';

/** A method to compare; `create` is absent for the full cache. */
export interface EvalMethod {
  /** Row label in results and the summary; must be unique, and not `'full'` (the reference's). */
  readonly name: string;
  /** A configured method for one budget. */
  readonly create?: (budget: Budget) => CompressionMethod;
  /** Options besides the budget, for the config hash and the summary (e.g. `window 32`). */
  readonly params?: string;
}

/**
 * A sweep for {@link runEval} (and {@link planEval}, which checks it): every option is validated
 * before any prompt runs, with an `OptionError` naming it.
 */
export interface EvalOptions {
  /** The loaded model every run uses; its tokenizer builds the prompts. */
  readonly model: Model;
  /** Generated tasks by name (see TASKS). */
  readonly tasks: readonly string[];
  /** RULER-format JSONL files scored as they are. */
  readonly dataFiles?: readonly string[];
  /** Methods besides the full cache, which always runs as the reference. */
  readonly methods: readonly EvalMethod[];
  /** Budgets each method runs at (e.g. from {@link parseBudgets}); labels must be unique, and at least one is needed when there are methods. */
  readonly budgets: readonly LabelledBudget[];
  /** Prompt lengths in tokens for generated tasks (BOS, question and answer prefix included), each in `[1, maxContext]`. */
  readonly lengths: readonly number[];
  /** Needle depths in percent (tasks with a depth only). */
  readonly depths: readonly number[];
  /** Samples per task, length and depth. */
  readonly samples: number;
  /** Integer seed: a sample depends only on it and its task, length, depth and index. */
  readonly seed: number;
  /** Wording of the needle tasks; default {@link RULER_TEMPLATE}. */
  readonly template?: NiahTemplate;
  /** Filler text of generated tasks; default {@link NOISE_HAYSTACK}. */
  readonly haystack?: Haystack;
  /** Overrides every task's generation limit. */
  readonly maxNewTokens?: number;
  /** Stop strings (default: the template's for generated tasks, none for data files). */
  readonly stop?: readonly string[];
  /** Positions the model is trusted with (default its maxPositions). */
  readonly maxContext?: number;
  /** Output folder. */
  readonly out: string;
  /** Discard results of another configuration in `out`. */
  readonly force?: boolean;
  /** The command line printed in the summary, to reproduce it. */
  readonly command?: string;
  /** Where progress lines go; absent: no progress output. */
  readonly progress?: {
    /** Receives each progress line (e.g. `process.stderr.write`). */
    readonly write: (text: string) => void;
    /** True on a terminal: one line redrawn in place; false: a plain line at most every 10 s. */
    readonly interactive: boolean;
  };
  /** PNGs beside the SVGs (default true; skipped with a warning when no font is found). */
  readonly png?: boolean;
  /**
   * One prefill per prompt for the full cache and every method that does not propagate (default
   * true): rows are the same as with a prefill per run, but for `seconds`. False runs each prefill
   * on its own.
   */
  readonly sharePrefill?: boolean;
  /** Called after each row is saved (tests interrupt a run from here). */
  readonly onRow?: (done: number) => void;
}

/** One prompt of the sweep, before it is generated or read. */
export interface PlanItem {
  /** Task name (a generated task's, or a data file's). */
  readonly task: string;
  /** Requested prompt length in tokens (a data file's: its `length` field). */
  readonly length: number;
  /** Needle depth in percent; null for tasks without one. */
  readonly depth: number | null;
  /** Sample number within its task, length and depth, from 0 (a data file's: its `index`). */
  readonly index: number;
  /** Stop strings of the runs: the option's, else the template's for generated tasks and none for files. */
  readonly stop: readonly string[];
  /** Generate (or return) the prompt; deterministic, so calling it again gives the same sample. */
  sample(): TaskSample;
}

/** One configuration of the sweep: the full cache, or a method at one budget. */
export interface Candidate {
  /** The method's name; `'full'` for the full cache. */
  readonly method: string;
  /** The budget's label; `'-'` for the full cache. */
  readonly budget: string;
  /** The method configured for this budget; absent for the full cache. */
  readonly instance?: CompressionMethod;
}

/** What {@link planEval} builds from checked options: the prompts, the configurations and the config's hash. */
export interface Plan {
  /** Every prompt: generated tasks by task, length, depth and index, then the data files' samples. */
  readonly items: readonly PlanItem[];
  /** Positions the model is trusted with. */
  readonly maxContext: number;
  /** The full cache first, then each method at each budget, in the order given. */
  readonly candidates: readonly Candidate[];
  /** The settings that decide the results (model, tasks, data files' hashes, methods, budgets, lengths, ...), as written to config.json. */
  readonly config: object;
  /** First 16 hex digits of the SHA-256 of `config`: results in a folder are reused only under the same hash. */
  readonly hash: string;
  /** The generated tasks' definitions, by name. */
  readonly definitions: ReadonlyMap<string, TaskDefinition>;
}

function checkIntegers(xs: readonly number[], what: string, lo: number, hi: number): void {
  if (xs.length === 0) throw new OptionError(`${what}: empty; give at least one value`);
  for (const x of xs) {
    if (!Number.isInteger(x) || x < lo || x > hi) {
      throw new OptionError(`${what}: ${x} is not a whole number in [${lo}, ${hi}]`);
    }
  }
}

/** Positions a sample uses at most: its prompt, its follow-up questions and every answer. */
export function positionsNeeded(s: TaskSample): number {
  const followUps = s.followUps ?? [];
  return (
    (s.ids?.length ?? s.length) +
    followUps.reduce((a, f) => a + f.ids.length, 0) +
    (followUps.length + 1) * s.maxNewTokens
  );
}

export function checkPositions(s: TaskSample, maxContext: number): void {
  const need = positionsNeeded(s);
  if (need > maxContext) {
    const n = s.followUps?.length ?? 0;
    throw new OptionError(
      `${s.task}: length ${s.length} with ${n} follow-up questions and ${s.maxNewTokens} tokens per answer needs ${need} positions, over the model's context of ${maxContext}; use shorter lengths or --max-new-tokens`,
    );
  }
}

/** Check every option, build the list of prompts and configured methods, and hash the config. */
export function planEval(o: EvalOptions): Plan {
  const model = o.model;
  const maxContext = o.maxContext ?? model.config.maxPositions;
  if (!Number.isInteger(maxContext) || maxContext < 2 || maxContext > model.config.maxPositions) {
    throw new OptionError(
      `max context must be a whole number in [2, ${model.config.maxPositions}] (the model's positions), got ${o.maxContext}`,
    );
  }
  if (o.tasks.length === 0 && (o.dataFiles ?? []).length === 0) {
    throw new OptionError('eval: no tasks; give task names or RULER data files');
  }
  const definitions = new Map(o.tasks.map((t) => [t, taskByName(t)] as const));
  if (definitions.size !== o.tasks.length)
    throw new OptionError(`tasks: ${o.tasks.join(',')} lists a task twice`);
  checkIntegers([o.samples], 'samples', 1, 1_000_000);
  if (!Number.isInteger(o.seed)) throw new OptionError(`seed must be a whole number, got ${o.seed}`);
  if (o.maxNewTokens !== undefined) checkIntegers([o.maxNewTokens], 'max new tokens', 1, maxContext);
  if (definitions.size > 0) {
    checkIntegers(o.lengths, 'lengths', 1, maxContext);
    if ([...definitions.values()].some((d) => d.usesDepth)) checkIntegers(o.depths, 'depths', 0, 100);
  }
  const names = new Set<string>();
  for (const m of o.methods) {
    if (m.name === 'full' || names.has(m.name)) {
      throw new OptionError(
        `methods: ${m.name} is listed twice (the full cache always runs as the reference)`,
      );
    }
    if (!m.create) throw new OptionError(`methods: ${m.name} has no create(budget)`);
    names.add(m.name);
  }
  if (o.methods.length > 0 && o.budgets.length === 0)
    throw new OptionError('budgets: empty; give at least one budget for the methods');

  const template = o.template ?? RULER_TEMPLATE;
  const haystack = o.haystack ?? NOISE_HAYSTACK;
  const enc = new SegmentEncoder(model.tokenizer);
  const settings: TaskSettings = {
    enc,
    template,
    haystack,
    ...(o.maxNewTokens ? { maxNewTokens: o.maxNewTokens } : {}),
  };
  const items: PlanItem[] = [];
  for (const [name, def] of definitions) {
    for (const length of o.lengths) {
      const limit = o.maxNewTokens ?? def.maxNewTokens;
      if (length + limit > maxContext) {
        throw new OptionError(
          `${name}: length ${length} + ${limit} generated tokens = ${length + limit} exceeds the model's context of ${maxContext}; use shorter lengths or --max-new-tokens`,
        );
      }
      for (const depth of def.usesDepth ? o.depths : [null]) {
        for (let index = 0; index < o.samples; index++) {
          const request = { index, length, depth, seed: o.seed };
          items.push({
            task: name,
            length,
            depth,
            index,
            stop: o.stop ?? template.stop,
            sample: () => def.sample(settings, request),
          });
        }
      }
    }
  }
  // Too-short lengths and follow-ups past the context fail before anything runs: generate each
  // task and length's first prompt.
  for (const it of items) {
    if (it.index === 0 && it.depth === (definitions.get(it.task)!.usesDepth ? o.depths[0] : null)) {
      checkPositions(it.sample(), maxContext);
    }
  }

  const files = (o.dataFiles ?? []).map((path) => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new DatasetError(
        `${path}: cannot read it (${(e as Error).message}); give a RULER-format .jsonl file`,
      );
    }
    return { path, text, sha256: createHash('sha256').update(text).digest('hex') };
  });
  for (const f of files) {
    for (const s of loadRulerJsonl(f.path, {
      ...(o.maxNewTokens ? { maxNewTokens: o.maxNewTokens } : {}),
      text: f.text,
    })) {
      const ids = model.tokenizer.encode(`${s.input}${s.answerPrefix}`);
      if (ids.length + s.maxNewTokens > maxContext) {
        throw new OptionError(
          `${f.path}: sample ${s.index} has ${ids.length} tokens + ${s.maxNewTokens} to generate, over the model's context of ${maxContext}; use a model with a longer context or drop the sample`,
        );
      }
      const sample = { ...s, ids };
      items.push({
        task: s.task,
        length: s.length,
        depth: null,
        index: s.index,
        stop: o.stop ?? [],
        sample: () => sample,
      });
    }
  }
  const keys = new Set(items.map((i) => JSON.stringify([i.task, i.length, i.depth, i.index])));
  if (keys.size !== items.length)
    throw new OptionError('eval: two data files hold the same task name; rename one');

  const candidates: Candidate[] = [{ method: 'full', budget: '-' }];
  for (const m of o.methods)
    for (const b of o.budgets)
      candidates.push({ method: m.name, budget: b.label, instance: m.create!(b.budget) });
  const budgetLabels = new Set(o.budgets.map((b) => b.label));
  if (budgetLabels.size !== o.budgets.length)
    throw new OptionError(`budgets: ${o.budgets.map((b) => b.label).join(',')} lists a budget twice`);

  const config = {
    model: {
      source: model.source,
      layers: model.config.numLayers,
      kvHeads: model.config.numKvHeads,
      vocab: model.config.vocabSize,
    },
    tasks: o.tasks,
    dataFiles: files.map((f) => ({ path: f.path, sha256: f.sha256 })),
    methods: o.methods.map((m) => ({ name: m.name, params: m.params ?? '' })),
    budgets: o.budgets.map((b) => ({ label: b.label, budget: b.budget })),
    lengths: o.lengths,
    depths: o.depths,
    samples: o.samples,
    seed: o.seed,
    template,
    haystack: haystack.name,
    maxNewTokens: o.maxNewTokens ?? null,
    stop: o.stop ?? null,
    maxContext,
  };
  const hash = createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 16);
  return { items, maxContext, candidates, config, hash, definitions };
}
