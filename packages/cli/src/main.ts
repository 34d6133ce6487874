import { USAGE as CONFORMANCE_USAGE, main as conformanceMain } from '@kvsieve/conformance';
import { KvsieveError } from '@kvsieve/core';
import { INSPECT_USAGE, parseCommand, RUN_USAGE } from './args.js';
import { CALIBRATE_USAGE, calibrateCommand } from './commands/calibrate.js';
import { EVAL_USAGE, evalCommand } from './commands/eval.js';
import { inspectCommand } from './commands/inspect.js';
import { METHODS_USAGE, methodsCommand } from './commands/methods.js';
import { runCommand } from './commands/run.js';
import { type CliIO, processIO } from './io.js';
import { type ModuleImporter, resolveMethodFactory } from './resolve.js';
import { paint } from './style.js';
import { cliVersion } from './version.js';

const HELP: Readonly<Record<string, string>> = {
  run: RUN_USAGE,
  inspect: INSPECT_USAGE,
  methods: METHODS_USAGE,
  eval: EVAL_USAGE,
  calibrate: CALIBRATE_USAGE,
  conformance: CONFORMANCE_USAGE,
};

/** One line, whatever the message holds: the first line of stderr is what people read. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * Run the CLI; resolves to the exit code (0 ok, 2 bad input, 1 a failure kvsieve did not expect).
 * Results go to stdout, progress, notes and failures to stderr. Every failure is one line on
 * stderr starting `kvsieve:` (red on a terminal unless NO_COLOR is set); `--debug` adds the stack
 * trace.
 * `--verbose` lets the GPU driver's own warnings through (bin.ts acts on it; here it is only dropped).
 */
export async function main(
  argv: readonly string[],
  io: CliIO = processIO,
  importer?: ModuleImporter,
): Promise<number> {
  const debug = argv.includes('--debug');
  const args = argv.filter((a) => a !== '--debug' && (argv[0] === 'conformance' || a !== '--verbose'));
  try {
    const [command, ...rest] = args;
    if (command === '--version' || command === '-V') {
      io.out(`${cliVersion()}\n`);
      return 0;
    }
    // --help anywhere in a command's arguments shows that command's usage, whatever else is there.
    if (command && HELP[command] && (rest.includes('--help') || rest.includes('-h'))) {
      io.out(`${HELP[command]}\n`);
      return 0;
    }
    if (command === 'help' && rest.length > 0) {
      const usage = HELP[rest[0]!];
      if (!usage) return await main(['help'], io, importer);
      io.out(`${usage}\n`);
      return 0;
    }
    if (command === 'conformance') {
      return await conformanceMain(
        rest,
        {
          out: (line) => io.out(`${line}\n`),
          err: (line) => io.err(`${paint(io, 'error', 'kvsieve:')} ${oneLine(line.split('\n\n')[0]!)}\n`),
        },
        async (spec) => {
          const f = await resolveMethodFactory(spec, importer, io.cwd);
          return (o) => f.create(o);
        },
      );
    }
    if (command === 'calibrate') {
      await calibrateCommand(rest, io, importer);
      return 0;
    }
    if (command === 'eval') {
      await evalCommand(rest, io, importer);
      return 0;
    }
    if (command === 'methods') {
      await methodsCommand(rest, io, importer);
      return 0;
    }
    const cmd = parseCommand(args, io.readFile);
    if (cmd.command === 'help') {
      io.out(`${cmd.usage}\n`);
      return 0;
    }
    if (cmd.command === 'run') await runCommand(cmd.args, io, importer);
    else await inspectCommand(cmd.args, io, importer);
    return 0;
  } catch (e) {
    const err = e as Error;
    if (e instanceof KvsieveError) {
      io.err(`${paint(io, 'error', 'kvsieve:')} ${err.name}: ${oneLine(err.message)}\n`);
      if (debug) io.err(`${err.stack}\n`);
      return 2;
    }
    io.err(
      `${paint(io, 'error', 'kvsieve:')} unexpected failure: ${oneLine(String(err?.message ?? e))} (a bug in kvsieve: run again with --debug for the stack trace, and report it)\n`,
    );
    if (debug) io.err(`${err?.stack ?? String(e)}\n`);
    return 1;
  }
}
