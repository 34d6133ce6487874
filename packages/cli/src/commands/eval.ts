import { parseArgs } from 'node:util';
import { type CompressionMethod, OptionError } from '@kvsieve/core';
import {
  describeParams,
  type EvalMethod,
  type EvalReport,
  NOISE_HAYSTACK,
  parseBudgets,
  runEval,
  TASKS,
  TEMPLATES,
  templateByName,
  textHaystack,
} from '@kvsieve/eval';
import { loadModel } from '@kvsieve/runtime';
import { BACKEND_OPTIONS, parseOption } from '../args.js';
import { parseBackendName, parseThreads } from '../backend.js';
import type { CliIO } from '../io.js';
import { type ModuleImporter, resolveMethod } from '../resolve.js';
import { describeBackend, openBackend } from './shared.js';

/** `kvsieve eval --help`: NIAH/RULER sweeps over methods and budgets. */
export const EVAL_USAGE = `Usage:
  kvsieve eval <model> [--tasks A,B] [--data-file FILE.jsonl]... [--methods A,B] [options]

Long-context evaluation: generated needle-in-a-haystack and RULER-style tasks (or RULER-format
JSONL files), each prompt run with the full cache and with every method at every budget, greedy
answers scored with RULER's string match, fidelity and cache bytes measured against the full cache.
Writes <out>/results.jsonl (one line per run), <out>/summary.md and <out>/plots/*.svg|png.
A rerun with the same options continues where an interrupted one stopped.

Options:
  --tasks A,B,...          ${[...TASKS.keys()].join(', ')} (default niah_single; none with --data-file)
  --data-file FILE.jsonl   RULER-format file ({index, input, outputs, length}) scored as it is (repeatable)
  --methods A,B,...        methods from @kvsieve/methods-NAME; the full cache always runs (default: full only)
  --budgets A,B,...        KV entries kept per head: N tokens, a ratio R or P% of the prompt (default 25%)
  --lengths A,B,...        prompt lengths in the model's tokens (default 1024)
  --depths A,B,...         needle depths in percent (default 0,25,50,75,100)
  --samples N              samples per task, length and depth (default 5)
  --seed S                 seed of the generated samples (default 0)
  --template NAME          needle wording: ${Object.keys(TEMPLATES).join(', ')} (default ruler)
  --words FILE             words for the template's word keys and values (whitespace-separated),
                           e.g. the words a model was trained on
  --haystack noise|PATH    filler: RULER's repeated sentences (default), or English text (a .txt file
                           or a folder of them, e.g. ../shared/data/paul-graham-essays)
  --max-new-tokens N       tokens to generate per answer (default: RULER's per task, 30 to 128)
  --stop TEXT              stop generating at TEXT (repeatable; default: the template's)
  --max-context N          positions the model is trusted with (default: its metadata's)
  --window N  --option KEY=VALUE   passed to every method (as with kvsieve run);
  --option METHOD.KEY=VALUE        to one method only (e.g. adakv.method=snapkv)
  --out DIR                output folder (default kvsieve-eval)
  --force                  discard results of another configuration in DIR
  --no-png                 write SVG plots only
  --no-share-prefill       prefill each run on its own (default: one prefill per prompt serves the
                           full cache and every method that does not propagate; same results)
${BACKEND_OPTIONS}`;

function list(v: string | undefined, fallback: string): string[] {
  const parts = (v ?? fallback).split(',').map((s) => s.trim());
  return parts.filter((s) => s !== '');
}

function ints(v: string | undefined, fallback: string, name: string): number[] {
  return list(v, fallback).map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n)) throw new OptionError(`--${name}: ${JSON.stringify(s)} is not a whole number`);
    return n;
  });
}

function int(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new OptionError(`--${name} must be a whole number, got ${JSON.stringify(v)}`);
  return n;
}

/** A command line as one shell-pasteable string. */
function shellLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function parse(args: readonly string[]) {
  try {
    return parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        tasks: { type: 'string' },
        'data-file': { type: 'string', multiple: true },
        methods: { type: 'string' },
        budgets: { type: 'string' },
        lengths: { type: 'string' },
        depths: { type: 'string' },
        samples: { type: 'string' },
        seed: { type: 'string' },
        template: { type: 'string' },
        words: { type: 'string' },
        haystack: { type: 'string' },
        'max-new-tokens': { type: 'string' },
        stop: { type: 'string', multiple: true },
        'max-context': { type: 'string' },
        window: { type: 'string' },
        option: { type: 'string', multiple: true },
        out: { type: 'string' },
        force: { type: 'boolean' },
        'no-png': { type: 'boolean' },
        'no-share-prefill': { type: 'boolean' },
        backend: { type: 'string' },
        threads: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new OptionError(`${(e as Error).message} (kvsieve eval --help lists the options)`);
  }
}

/** `kvsieve eval`: run the sweep, print where the outputs are and the summary table. */
export async function evalCommand(
  argv: readonly string[],
  io: CliIO,
  importer?: ModuleImporter,
): Promise<EvalReport | null> {
  const { values: o, positionals } = parse(argv);
  if (o.help) {
    io.out(`${EVAL_USAGE}\n`);
    return null;
  }
  if (positionals.length !== 1) {
    throw new OptionError(
      `eval takes one model path (a folder or a .gguf file), got ${positionals.length}: ${positionals.join(' ')}`,
    );
  }
  const dataFiles = o['data-file'] ?? [];
  const tasks = list(o.tasks, dataFiles.length > 0 ? '' : 'niah_single');
  const methodNames = list(o.methods, '').filter((m) => m !== 'full');
  const budgets = parseBudgets(o.budgets ?? '25%');
  // `--option KEY=V` goes to every method, `--option METHOD.KEY=V` to that method only.
  const shared: Record<string, unknown> = {};
  const own = new Map<string, Record<string, unknown>>(methodNames.map((m) => [m, {}]));
  for (const [key, value] of (o.option ?? []).map(parseOption)) {
    const dot = key.indexOf('.');
    if (dot < 0) {
      shared[key] = value;
      continue;
    }
    const target = own.get(key.slice(0, dot));
    if (!target) {
      throw new OptionError(
        `--option ${key}: ${JSON.stringify(key.slice(0, dot))} is not in --methods (${methodNames.join(',') || 'none'}); write METHOD.KEY=VALUE for a listed method, or KEY=VALUE for all`,
      );
    }
    target[key.slice(dot + 1)] = value;
  }
  if (o.window !== undefined) shared.window = int(o.window, 'window');
  const optionsOf = (name: string) => ({ ...shared, ...own.get(name) });
  const backendName = parseBackendName(o.backend);
  const threads = parseThreads(o.threads);
  // Resolve every method before the model loads: a missing package or bad option fails at once.
  const resolved = new Map<string, CompressionMethod>();
  for (const name of methodNames) {
    for (const b of budgets) {
      resolved.set(
        `${name} ${JSON.stringify(b.budget)}`,
        await resolveMethod(name, { ...optionsOf(name), budget: b.budget }, importer, io.cwd),
      );
    }
  }
  const methods: EvalMethod[] = methodNames.map((name) => ({
    name,
    params: describeParams(optionsOf(name)),
    create: (budget) => resolved.get(`${name} ${JSON.stringify(budget)}`)!,
  }));
  let template = templateByName(o.template ?? 'ruler');
  if (o.words !== undefined) {
    let text: string;
    try {
      text = io.readFile(o.words);
    } catch (e) {
      throw new OptionError(
        `--words ${o.words}: cannot read it (${(e as Error).message}); give a text file of words`,
      );
    }
    const words = [...new Set(text.split(/\s+/).filter((w) => w !== ''))];
    if (words.length < 8) {
      throw new OptionError(
        `--words ${o.words}: ${words.length} distinct words; give at least 8, separated by spaces or lines`,
      );
    }
    template = { ...template, words };
  }
  const haystack =
    o.haystack === undefined || o.haystack === 'noise' ? NOISE_HAYSTACK : textHaystack(o.haystack);
  const choice = await openBackend(backendName, threads, io, importer);
  io.err(`backend: ${describeBackend(choice)}\n`);
  const backend = choice.backend;
  const model = await loadModel(positionals[0]!, { backend });
  try {
    const maxNewTokens = int(o['max-new-tokens'], 'max-new-tokens');
    const maxContext = int(o['max-context'], 'max-context');
    const out = o.out ?? 'kvsieve-eval';
    const report = await runEval({
      model,
      tasks,
      dataFiles,
      methods,
      budgets,
      lengths: ints(o.lengths, '1024', 'lengths'),
      depths: ints(o.depths, '0,25,50,75,100', 'depths'),
      samples: int(o.samples, 'samples') ?? 5,
      seed: int(o.seed, 'seed') ?? 0,
      template,
      haystack,
      ...(maxNewTokens !== undefined ? { maxNewTokens } : {}),
      ...(o.stop ? { stop: o.stop } : {}),
      ...(maxContext !== undefined ? { maxContext } : {}),
      out,
      force: o.force ?? false,
      png: !(o['no-png'] ?? false),
      sharePrefill: !(o['no-share-prefill'] ?? false),
      command: shellLine(['kvsieve', 'eval', ...argv.filter((a) => a !== '--force')]),
      progress: { write: (t) => io.err(t), interactive: io.interactive },
    });
    for (const w of report.warnings) io.err(`kvsieve eval: ${w}\n`);
    io.out(
      `${report.summary}\nran ${report.ran} of ${report.rows.length} runs (${report.rows.length - report.ran} resumed from results.jsonl); results: ${report.resultsPath}, summary: ${report.summaryPath}, ${report.plots.length} plot files in ${out}/plots\n`,
    );
    return report;
  } finally {
    model.dispose();
  }
}
