import { type CompressionMethod, KvsieveError, OptionError } from '@kvsieve/core';
import { VECTOR_METHODS, type VectorMethodAdapter, vectorMethod } from './registry.js';
import { type ConformanceOptions, formatReport, runConformance } from './run.js';

/** The help text of `kvsieve conformance`, printed for `--help` and after a usage error. */
export const USAGE = `usage: kvsieve conformance [--rtol X] [--atol X] [--tie-rtol X] [--verbose] [--method NAME=SPEC]... <file-or-folder>...

Runs every check of reference-vector files (format: ../shared/golden/README.md) through kvsieve's
methods on the CPU backend and prints one line per failure, then "N passed, M failed".
  --rtol X      relative tolerance for recorded scores (default 1e-4)
  --atol X      absolute tolerance for recorded scores (default 0)
  --tie-rtol X  scores this close to the boundary count as tied (default 0: exact, as the README)
  --verbose     also print a line per passing check
  --method NAME=SPEC  run the checks that name NAME (snapkv, pyramidkv, h2o, streamingllm, adakv)
                with another implementation: a package name or a module file exporting createMethod
Exit status: 0 all passed, 1 some failed, 2 bad usage or unreadable path.`;

/** Where {@link main} writes; default stdout and stderr, one line per call. */
export interface MainIO {
  /** Receives each report line (without a trailing newline). */
  out(line: string): void;
  /** Receives a usage or input error, followed by the usage text. */
  err(line: string): void;
}

/** Loads `--method NAME=SPEC` implementations (the CLI resolves packages and module files). */
export type FactoryLoader = (
  spec: string,
) => Promise<(options: Record<string, unknown>) => CompressionMethod>;

const defaultIO: MainIO = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
};

function parseArgs(argv: readonly string[]): {
  paths: string[];
  opts: ConformanceOptions;
  verbose: boolean;
  methods: [string, string][];
} {
  const paths: string[] = [];
  const methods: [string, string][] = [];
  const opts: { rtol?: number; atol?: number; tieRtol?: number } = {};
  let verbose = false;
  const flags: Record<string, 'rtol' | 'atol' | 'tieRtol'> = {
    '--rtol': 'rtol',
    '--atol': 'atol',
    '--tie-rtol': 'tieRtol',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const flag = flags[a];
    if (flag) {
      const v = Number(argv[++i]);
      if (argv[i] === undefined || !Number.isFinite(v) || v < 0) {
        throw new OptionError(
          `conformance: ${a} needs a non-negative number, got ${JSON.stringify(argv[i])}`,
        );
      }
      opts[flag] = v;
    } else if (a === '--verbose') verbose = true;
    else if (a === '--method') {
      const v = argv[++i] ?? '';
      const eq = v.indexOf('=');
      if (eq < 1 || eq === v.length - 1) {
        throw new OptionError(
          `conformance: --method needs NAME=SPEC (e.g. snapkv=./my-snapkv.js), got ${JSON.stringify(v)}`,
        );
      }
      methods.push([v.slice(0, eq), v.slice(eq + 1)]);
    } else if (a.startsWith('--'))
      throw new OptionError(
        `conformance: unknown flag ${a}; flags are --rtol, --atol, --tie-rtol, --verbose, --method`,
      );
    else paths.push(a);
  }
  if (paths.length === 0) throw new OptionError('conformance: no vector file or folder given');
  return { paths, opts, verbose, methods };
}

/** `kvsieve conformance …`: returns the exit status (0 all passed, 1 failures, 2 bad usage). */
export async function main(
  argv: readonly string[],
  io: MainIO = defaultIO,
  load?: FactoryLoader,
): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(USAGE);
    return 0;
  }
  try {
    const { paths, opts, verbose, methods } = parseArgs(argv);
    let adapters: Record<string, VectorMethodAdapter> | undefined;
    if (methods.length > 0) {
      if (!load)
        throw new OptionError('conformance: --method needs a module loader (run it as kvsieve conformance)');
      adapters = { ...VECTOR_METHODS };
      for (const [name, spec] of methods) adapters[name] = vectorMethod(name, await load(spec));
    }
    const report = await runConformance(paths, { ...opts, ...(adapters ? { methods: adapters } : {}) });
    if (verbose) for (const r of report.results) if (r.passed) io.out(`ok   ${r.name}`);
    for (const line of formatReport(report).split('\n')) io.out(line);
    return report.failed === 0 ? 0 : 1;
  } catch (e) {
    if (!(e instanceof KvsieveError)) throw e;
    io.err(`${e.message}\n\n${USAGE}`);
    return 2;
  }
}
