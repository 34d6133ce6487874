import { parseArgs } from 'node:util';
import { type Budget, OptionError } from '@kvsieve/core';
import { type BackendName, parseBackendName, parseThreads } from './backend.js';

/** What `kvsieve run` and `kvsieve inspect` both take, parsed and checked by {@link parseCommand}. */
export interface CommonArgs {
  /** The model: a Hugging Face folder or a `.gguf` file (the one positional argument). */
  readonly model: string;
  /** The prompt text, from `--prompt` or read from `--prompt-file` (never empty). */
  readonly prompt: string;
  /** `--backend`: auto (default) picks WebGPU on a hardware GPU, else wasm. */
  readonly backend: BackendName;
  /** `--threads`: the wasm backend's threads (undefined: kernels-wasm's default). */
  readonly threads: number | undefined;
  /** `--method SPEC`: a method name, package name or module path; null: the full cache. */
  readonly method: string | null;
  /**
   * Options for the method: `--budget` (parsed by {@link parseBudget}), `--window`, and each `--option
   * KEY=VALUE` (VALUE as JSON when it parses).
   */
  readonly methodOptions: Record<string, unknown>;
  /** `--chat` (implied by `--chat-template`): wrap the prompt as a user message in the chat template. */
  readonly chat: boolean;
  /** A chat template to use instead of the model's (`--chat-template FILE`). */
  readonly chatTemplate: string | undefined;
  /** `--chunk-size`: prompt tokens per prefill chunk; undefined: the runtime's 256. */
  readonly chunkSize: number | undefined;
  /** `--json`: print the summary (run) or the kept entries (inspect) as JSON. */
  readonly json: boolean;
  /** How the KV cache stores keys and values; undefined: f16 on WebGPU with shader-f16, else f32. */
  readonly kvDtype: 'f32' | 'f16' | undefined;
}

/** What `kvsieve run` takes: {@link CommonArgs} plus generation and sampling options. */
export interface RunArgs extends CommonArgs {
  /** `--max-tokens`: tokens to generate at most (default 128). */
  readonly maxTokens: number;
  /** `--temperature`: 0 (default) decodes greedily; above 0 samples. */
  readonly temperature: number;
  /** `--top-k`: sample among the K most likely tokens; 0 (default): all. */
  readonly topK: number;
  /** `--top-p`: sample within the smallest set of tokens whose probability reaches P; 1 (default): all. */
  readonly topP: number;
  /** `--seed`: seed of the sampling stream (default 0). */
  readonly seed: number;
  /** `--stop` (repeatable): stop when the text contains one of these; the stop text is not printed. */
  readonly stop: string[];
  /** Entries per KV head kept while generating (a sliding budget around the method), if set. */
  readonly decodeBudget: number | undefined;
  /** `--profile`: print what each decode token asked of the GPU, and GPU time per kernel. */
  readonly profile: boolean;
}

/**
 * `kvsieve --help`: every command in one line each, and what holds everywhere (exit status 0 done, 2 bad
 * input, 1 a bug).
 */
export const USAGE = `Usage:
  kvsieve run <model> (--prompt TEXT | --prompt-file FILE) [options]     generate, with a method
  kvsieve inspect <model> (--prompt TEXT | --prompt-file FILE) --method NAME [options]
                                                                        what each layer and head kept
  kvsieve methods [NAME]                                                the installed methods, or one's options
  kvsieve eval <model> [--tasks A,B] [--methods A,B] [--budgets A,B] [...]  NIAH/RULER sweeps with plots
  kvsieve calibrate <model> [--out FILE] [...]                          SurfaceLogicKV's head profile
  kvsieve conformance <file-or-folder>... [...]                         methods against reference vectors

<model> is a Hugging Face model folder (config.json, *.safetensors, tokenizer.json) or a .gguf file.
kvsieve COMMAND --help (or kvsieve help COMMAND) shows a command's options; kvsieve --version its version.
Everywhere: --verbose shows the GPU driver's own warnings; --debug shows a stack trace on failure.
Results go to stdout; progress, notes and errors to stderr (NO_COLOR=1: no colors).
Exit status: 0 done, 2 bad input (a file, an option, a method), 1 an unexpected failure (a bug).`;

const METHOD_OPTIONS = `Method options:
  --method SPEC            compression method: a name (snapkv loads @kvsieve/methods-snapkv), a package
                           name, or a module file (./my-method.js) exporting createMethod (kvsieve methods)
  --budget N|R|P%          tokens kept per KV head: N tokens, or a ratio R in (0, 1] / P% of the prompt
  --window N               observation window of the method
  --option KEY=VALUE       any other method option (repeatable; VALUE is parsed as JSON when it can be)`;

/** The --backend and --threads lines every command that computes shows. */
export const BACKEND_OPTIONS = `  --backend auto|wasm|webgpu|cpu
                           where to compute: auto (default) is webgpu on a hardware GPU adapter,
                           else wasm (software adapters such as lavapipe or SwiftShader count as
                           none); wasm is WebAssembly SIMD on the CPU cores; cpu the slow f64 reference
  --threads N              threads the wasm backend computes on (default: @kvsieve/kernels-wasm's
                           choice for this machine; the summary says how many); ignored, with a
                           note, on webgpu and cpu`;

const COMMON_OPTIONS = `Options:
${BACKEND_OPTIONS}
  --chat                   wrap the prompt in the model's chat template as a user message (a model
                           without one gets a ChatML or Llama 3 fallback, and a note says so)
  --chat-template FILE     use this Jinja chat template instead of the model's (implies --chat)
  --chunk-size N           prompt tokens per prefill chunk (default 256)
  --kv-dtype f16|f32       how the KV cache stores keys and values (default f16 on WebGPU with
                           shader-f16, else f32); cache bytes are reported as stored
  --json                   print the summary (run) or the kept entries (inspect) as JSON`;

/** `kvsieve run --help`: the run command's options. */
export const RUN_USAGE = `Usage:
  kvsieve run <model> (--prompt TEXT | --prompt-file FILE) [options]

Generates from the prompt, compressing the KV cache layer by layer with the method (if any), and
prints the text, then a summary (the backend, why it was chosen and its threads, prefill and
decode tokens/s, cache bytes kept vs full, kept entries per layer).

${COMMON_OPTIONS}
  --max-tokens N           tokens to generate (default 128)
  --temperature T          0 = greedy (default), else sample
  --top-k K  --top-p P  --seed S
  --stop TEXT              stop when the text contains TEXT (repeatable)
  --decode-budget N        keep at most about N entries per KV head while generating: the method's
                           prefill selection (or the full cache), then its first tokens (sinks) and
                           the most recent ones
  --profile                after the summary, what each decode token asked of the GPU (queue
                           submissions, dispatches, bytes written and read back, buffers and bind
                           groups created) and, where the adapter has timestamp-query, GPU time per
                           kernel (timing gives each kernel its own pass, so decode runs a little
                           slower); WebGPU backend only

${METHOD_OPTIONS}`;

/** `kvsieve inspect --help`: the inspect command's options. */
export const INSPECT_USAGE = `Usage:
  kvsieve inspect <model> (--prompt TEXT | --prompt-file FILE) --method SPEC [options]

Prefills the prompt with the method and prints, per layer and KV head, the positions it kept, its
notes, and the cache bytes kept vs full.

${COMMON_OPTIONS}

${METHOD_OPTIONS}`;

function positiveInt(v: string | undefined, name: string, fallback: number | undefined): number | undefined {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new OptionError(`--${name} must be a positive whole number, got ${JSON.stringify(v)}`);
  return n;
}

function number(v: string | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n))
    throw new OptionError(`--${name} must be a number, got ${JSON.stringify(v)}`);
  return n;
}

/** `256` → 256 tokens; `0.25` or `25%` → a quarter of the prompt. */
export function parseBudget(v: string): Budget {
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(v.trim());
  const n = pct ? Number(pct[1]) / 100 : Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new OptionError(
      `--budget must be a token count (256), a ratio (0.25) or a percentage (25%), got ${JSON.stringify(v)}`,
    );
  }
  if (pct || !Number.isInteger(n)) {
    if (n > 1) throw new OptionError(`--budget as a ratio must be in (0, 1], got ${JSON.stringify(v)}`);
    return { ratio: n };
  }
  return n;
}

/** `KEY=VALUE` from `--option`; VALUE is JSON when it parses, else the string. */
export function parseOption(kv: string): [string, unknown] {
  const eq = kv.indexOf('=');
  if (eq < 1) throw new OptionError(`--option must look like KEY=VALUE, got ${JSON.stringify(kv)}`);
  const raw = kv.slice(eq + 1);
  try {
    return [kv.slice(0, eq), JSON.parse(raw)];
  } catch {
    return [kv.slice(0, eq), raw];
  }
}

/**
 * What {@link parseCommand} made of the arguments: a `run` or `inspect` to perform with its checked
 * arguments, or a usage text to print.
 */
export type Command =
  | {
      /** Generate text. */
      command: 'run';
      /** The checked `run` arguments. */
      args: RunArgs;
    }
  | {
      /** Show what a method kept. */
      command: 'inspect';
      /** The checked `inspect` arguments. */
      args: CommonArgs;
    }
  | {
      /** Print a usage text. */
      command: 'help';
      /** The text to print. */
      usage: string;
    };

/**
 * Parses `run` or `inspect` arguments (argv without the program name; `help`, `--help` or nothing gives the
 * usage). `readFile` reads `--prompt-file` and `--chat-template`. Bad input throws an `OptionError` whose
 * message names the flag and the fix.
 */
export function parseCommand(argv: readonly string[], readFile: (path: string) => string): Command {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h')
    return { command: 'help', usage: USAGE };
  if (command !== 'run' && command !== 'inspect') {
    throw new OptionError(
      `unknown command ${JSON.stringify(command)}; the commands are run, inspect, methods, eval, calibrate and conformance (kvsieve --help)`,
    );
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    return { command: 'help', usage: command === 'run' ? RUN_USAGE : INSPECT_USAGE };
  }
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(rest);
  } catch (e) {
    throw new OptionError(`${(e as Error).message} (kvsieve ${command} --help lists the options)`);
  }
  const { values: o, positionals } = parsed;
  if (positionals.length !== 1) {
    throw new OptionError(
      `${command} takes one model path (a folder or a .gguf file), got ${positionals.length}: ${positionals.join(' ')}`,
    );
  }
  if ((o.prompt === undefined) === (o['prompt-file'] === undefined)) {
    throw new OptionError(`${command}: give exactly one of --prompt TEXT or --prompt-file FILE`);
  }
  let prompt = o.prompt;
  if (prompt === undefined) {
    const file = o['prompt-file']!;
    try {
      prompt = readFile(file);
    } catch (e) {
      throw new OptionError(`--prompt-file ${file}: cannot read it (${(e as Error).message})`);
    }
  }
  if (prompt.length === 0) throw new OptionError(`${command}: the prompt is empty`);
  let chatTemplate: string | undefined;
  if (o['chat-template'] !== undefined) {
    try {
      chatTemplate = readFile(o['chat-template']);
    } catch (e) {
      throw new OptionError(
        `--chat-template ${o['chat-template']}: cannot read it (${(e as Error).message})`,
      );
    }
  }
  const kvDtype = o['kv-dtype'];
  if (kvDtype !== undefined && kvDtype !== 'f16' && kvDtype !== 'f32')
    throw new OptionError(`--kv-dtype must be f16 or f32, got ${JSON.stringify(kvDtype)}`);
  const backend = parseBackendName(o.backend);
  const threads = parseThreads(o.threads);
  const methodOptions: Record<string, unknown> = Object.fromEntries((o.option ?? []).map(parseOption));
  if (o.budget !== undefined) methodOptions.budget = parseBudget(o.budget);
  if (o.window !== undefined) methodOptions.window = positiveInt(o.window, 'window', undefined);
  const method = o.method ?? null;
  if (method === null && Object.keys(methodOptions).length > 0) {
    throw new OptionError(
      `--budget, --window and --option configure a method; add --method NAME (e.g. --method snapkv)`,
    );
  }
  if (command === 'inspect' && method === null)
    throw new OptionError('inspect shows what a method kept; add --method NAME');
  if (o.profile && command !== 'run') {
    throw new OptionError('--profile measures the decode loop: use it with run');
  }
  if (o['decode-budget'] !== undefined && command !== 'run') {
    throw new OptionError('--decode-budget bounds the cache during generation: use it with run');
  }
  const common: CommonArgs = {
    model: positionals[0]!,
    prompt,
    backend,
    threads,
    method,
    methodOptions,
    chat: (o.chat ?? false) || chatTemplate !== undefined,
    chatTemplate,
    chunkSize: positiveInt(o['chunk-size'], 'chunk-size', undefined),
    json: o.json ?? false,
    kvDtype,
  };
  if (command === 'inspect') return { command, args: common };
  return {
    command,
    args: {
      ...common,
      maxTokens: positiveInt(o['max-tokens'], 'max-tokens', 128)!,
      temperature: number(o.temperature, 'temperature', 0),
      topK: number(o['top-k'], 'top-k', 0),
      topP: number(o['top-p'], 'top-p', 1),
      seed: number(o.seed, 'seed', 0),
      stop: o.stop ?? [],
      decodeBudget: positiveInt(o['decode-budget'], 'decode-budget', undefined),
      profile: o.profile ?? false,
    },
  };
}

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      prompt: { type: 'string' },
      'prompt-file': { type: 'string' },
      backend: { type: 'string' },
      threads: { type: 'string' },
      method: { type: 'string' },
      budget: { type: 'string' },
      window: { type: 'string' },
      option: { type: 'string', multiple: true },
      chat: { type: 'boolean' },
      'chat-template': { type: 'string' },
      'chunk-size': { type: 'string' },
      'kv-dtype': { type: 'string' },
      json: { type: 'boolean' },
      'max-tokens': { type: 'string' },
      profile: { type: 'boolean' },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      seed: { type: 'string' },
      stop: { type: 'string', multiple: true },
      'decode-budget': { type: 'string' },
    },
  });
}
