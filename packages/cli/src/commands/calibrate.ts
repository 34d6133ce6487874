import {
  accessSync,
  constants,
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { OptionError } from '@kvsieve/core';
import {
  CALIBRATE_DEFAULTS,
  type CalibrateOptions,
  calibrate,
  splitSentences,
  summarizeProfile,
} from '@kvsieve/methods-surfacelogickv';
import { loadModel } from '@kvsieve/runtime';
import { BACKEND_OPTIONS } from '../args.js';
import { parseBackendName, parseThreads } from '../backend.js';
import { progressBar, table } from '../format.js';
import type { CliIO } from '../io.js';
import type { ModuleImporter } from '../resolve.js';
import { backendJson, describeBackend, openBackend } from './shared.js';

/** `kvsieve calibrate --help`: profiling a model's heads for SurfaceLogicKV. */
export const CALIBRATE_USAGE = `Usage:
  kvsieve calibrate <model> [--out FILE] [options]

Profiles every attention head of the model with needle-in-a-haystack probes, for the SurfaceLogicKV
method (--method surfacelogickv --option profile=FILE): per head, the rate of answer steps whose
most-attended position is in the needle and holds the generated token (surface), is in the needle
but holds another token (logic), and INFsc = alpha·surface + (1 − alpha)·logic, normalized.

Options:
  --out FILE               where to write the profile JSON (default: <model name>.slkv-profile.json
                           in the current folder; the model's own folder may be read-only)
  --probes N               probes to run (default ${CALIBRATE_DEFAULTS.probes})
  --seed S                 seed of the probes (default ${CALIBRATE_DEFAULTS.seed})
  --alpha A                weight of the surface rate in INFsc, in [0, 1] (default ${CALIBRATE_DEFAULTS.alpha})
  --lengths A,B,...        target prompt lengths in tokens, used in turn (default ${CALIBRATE_DEFAULTS.lengths.join(',')})
  --depths A,B,...         needle depths in [0, 1], used in turn (default ${CALIBRATE_DEFAULTS.depths.join(',')})
  --answer greedy|teacher  answer steps: the model's greedy answer (default), or the needle's value
                           teacher-forced (for models too small to retrieve)
  --haystack FILE|DIR      haystack text (a file, or every .txt file of a folder, in name order);
                           default: generated filler sentences
${BACKEND_OPTIONS}
  --json                   print the summary as JSON`;

function list(v: string | undefined, name: string, parse: (x: string) => number): number[] | undefined {
  if (v === undefined) return undefined;
  const parts = v.split(',').map((s) => s.trim());
  return parts.map((p) => {
    const n = parse(p);
    if (p === '' || !Number.isFinite(n))
      throw new OptionError(`--${name} must be numbers separated by commas, got ${JSON.stringify(v)}`);
    return n;
  });
}

function int(v: string | undefined, name: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < min)
    throw new OptionError(`--${name} must be a whole number ≥ ${min}, got ${JSON.stringify(v)}`);
  return n;
}

function readHaystack(path: string): { name: string; sentences: string[] } {
  let text: string;
  try {
    const files = statSync(path).isDirectory()
      ? readdirSync(path)
          .filter((f) => f.endsWith('.txt'))
          .sort()
          .map((f) => join(path, f))
      : [path];
    text = files.map((f) => readFileSync(f, 'utf8')).join('\n');
  } catch (e) {
    throw new OptionError(`--haystack ${path}: cannot read it (${(e as Error).message})`);
  }
  const sentences = splitSentences(text);
  if (sentences.length === 0)
    throw new OptionError(`--haystack ${path}: no sentences found; give English prose (.txt)`);
  return { name: path, sentences };
}

/** Fail before the probes run (minutes) rather than after, when the profile cannot be written. */
function checkWritable(out: string): void {
  const dir = dirname(out);
  try {
    if (!existsSync(dir)) throw new Error(`the folder ${dir} does not exist`);
    accessSync(existsSync(out) ? out : dir, constants.W_OK);
  } catch (e) {
    throw new OptionError(
      `cannot write the profile to ${out} (${(e as Error).message}); give --out FILE in a folder you can write`,
    );
  }
}

/** `kvsieve calibrate`: writes a SurfaceLogicKV profile and prints what it found. */
export async function calibrateCommand(
  argv: readonly string[],
  io: CliIO,
  importer?: ModuleImporter,
): Promise<void> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse([...argv]);
  } catch (e) {
    throw new OptionError(`${(e as Error).message} (kvsieve calibrate --help lists the options)`);
  }
  const { values: o, positionals } = parsed;
  if (o.help) {
    io.out(`${CALIBRATE_USAGE}\n`);
    return;
  }
  if (positionals.length !== 1) {
    throw new OptionError(
      `calibrate takes one model path (a folder or a .gguf file), got ${positionals.length}: ${positionals.join(' ')}`,
    );
  }
  const modelPath = positionals[0]!;
  // Beside the user, not beside the model: model folders are often read-only (shared, HF cache).
  const out = resolve(
    io.cwd ?? process.cwd(),
    o.out ?? `${basename(modelPath.replace(/[/\\]+$/, '')).replace(/\.gguf$/i, '')}.slkv-profile.json`,
  );
  checkWritable(out);
  const backendName = parseBackendName(o.backend);
  const threads = parseThreads(o.threads);
  const answer = o.answer ?? CALIBRATE_DEFAULTS.answer;
  if (answer !== 'greedy' && answer !== 'teacher')
    throw new OptionError(`--answer must be greedy or teacher, got ${JSON.stringify(answer)}`);
  const alpha = o.alpha === undefined ? undefined : Number(o.alpha);
  if (alpha !== undefined && (o.alpha!.trim() === '' || !(alpha >= 0 && alpha <= 1)))
    throw new OptionError(`--alpha must be a number in [0, 1], got ${JSON.stringify(o.alpha)}`);
  const probes = int(o.probes, 'probes', 1);
  const seed = int(o.seed, 'seed', 0);
  const lengths = list(o.lengths, 'lengths', Number);
  const depths = list(o.depths, 'depths', Number);
  const haystack = o.haystack === undefined ? undefined : readHaystack(o.haystack);
  const choice = await openBackend(backendName, threads, io, importer);
  const backend = choice.backend;
  const model = await loadModel(modelPath, { backend });
  try {
    const options: CalibrateOptions = {
      answer,
      backend: choice.name,
      ...(probes !== undefined ? { probes } : {}),
      ...(seed !== undefined ? { seed } : {}),
      ...(alpha !== undefined ? { alpha } : {}),
      ...(lengths ? { lengths } : {}),
      ...(depths ? { depths } : {}),
      ...(haystack ? { haystack } : {}),
      onProbe: (done, total) => {
        if (!io.interactive) return;
        io.err(progressBar('probes', done, total));
        if (done === total) io.err('\n');
      },
    };
    const profile = await calibrate(model, options);
    try {
      writeFileSync(out, `${JSON.stringify(profile, null, 1)}\n`);
    } catch (e) {
      throw new OptionError(`cannot write the profile to ${out} (${(e as Error).message}); give --out FILE`);
    }
    const s = summarizeProfile(profile);
    if (o.json) {
      io.out(
        `${JSON.stringify({ out, backend: backendJson(choice), probes: profile.probes, summary: s })}\n`,
      );
      return;
    }
    const p = profile.probes;
    io.out(
      `profile written to ${out}\n` +
        `${p.count} probes (${p.answer} answers, prompts of ${p.promptTokens[0]}–${p.promptTokens[1]} tokens, ` +
        `${profile.heads[0]![0]!.steps} answer steps${p.exactAnswers !== undefined ? `, ${p.exactAnswers} exact answers` : ''}) in ${p.seconds} s\n` +
        `backend: ${describeBackend(choice)}\n` +
        `heads by dominant behaviour: ${s.surface} surface, ${s.logic} logic, ${s.ignore} ignore (of ${s.heads}); ` +
        `${s.scored} with a nonzero INFsc (${s.leaning.surface} more surface than logic, ${s.leaning.logic} more logic)\n`,
    );
    if (s.top.length > 0) {
      io.out(
        `${table([
          ['layer', 'head', 'INFsc', 'surface', 'logic'],
          ...s.top.map((t) => [
            String(t.layer),
            String(t.head),
            t.infsc.toFixed(4),
            t.surface.toFixed(4),
            t.logic.toFixed(4),
          ]),
        ])}\n`,
      );
    }
  } finally {
    model.dispose();
  }
}

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      out: { type: 'string' },
      probes: { type: 'string' },
      seed: { type: 'string' },
      alpha: { type: 'string' },
      lengths: { type: 'string' },
      depths: { type: 'string' },
      answer: { type: 'string' },
      haystack: { type: 'string' },
      backend: { type: 'string' },
      threads: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
