import { KvsieveError, OptionError } from '@kvsieve/core';
import { type ConformanceOptions, formatReport, runConformance } from './run.js';

export const USAGE = `usage: kvsieve conformance [--rtol X] [--atol X] [--tie-rtol X] [--verbose] <file-or-folder>...

Runs every check of reference-vector files (format: ../shared/golden/README.md) through kvsieve's
methods on the CPU backend and prints one line per failure, then "N passed, M failed".
  --rtol X      relative tolerance for recorded scores (default 1e-4)
  --atol X      absolute tolerance for recorded scores (default 0)
  --tie-rtol X  scores this close to the boundary count as tied (default 0: exact, as the README)
  --verbose     also print a line per passing check
Exit status: 0 all passed, 1 some failed, 2 bad usage or unreadable path.`;

export interface MainIO {
  out(line: string): void;
  err(line: string): void;
}

const defaultIO: MainIO = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
};

function parseArgs(argv: readonly string[]): { paths: string[]; opts: ConformanceOptions; verbose: boolean } {
  const paths: string[] = [];
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
    else if (a.startsWith('--'))
      throw new OptionError(
        `conformance: unknown flag ${a}; flags are --rtol, --atol, --tie-rtol, --verbose`,
      );
    else paths.push(a);
  }
  if (paths.length === 0) throw new OptionError('conformance: no vector file or folder given');
  return { paths, opts, verbose };
}

/** `kvsieve conformance …`: returns the exit status (0 all passed, 1 failures, 2 bad usage). */
export async function main(argv: readonly string[], io: MainIO = defaultIO): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(USAGE);
    return 0;
  }
  try {
    const { paths, opts, verbose } = parseArgs(argv);
    const report = await runConformance(paths, opts);
    if (verbose) for (const r of report.results) if (r.passed) io.out(`ok   ${r.name}`);
    for (const line of formatReport(report).split('\n')) io.out(line);
    return report.failed === 0 ? 0 : 1;
  } catch (e) {
    if (!(e instanceof KvsieveError)) throw e;
    io.err(`${e.message}\n\n${USAGE}`);
    return 2;
  }
}
