import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { constants } from 'node:os';

// Dawn (npm `webgpu`) clamps two limits the Vulkan driver reports (lavapipe: 1000000, RADV:
// 500000) to 16 and says so with `dawn::WarningLog()`: a bare fprintf(stderr) from native code,
// inside the first requestAdapter() of each Dawn instance. Dawn has no log level, toggle or
// callback for it, and Node cannot point fd 2 elsewhere for the duration of one call (no dup2), so
// the only safe place to drop the lines is outside the process: run the work in a child and filter
// its stderr.

/** One of Dawn's two limit-clamp notices, as a whole line (without its newline). */
export const DAWN_LIMIT_WARNING =
  /^Warning: maxDynamic(?:Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.$/;

const PREFIX = 'Warning: maxDynamic';
// The notices are about 130 characters; a longer unfinished line cannot be one.
const MAX_NOTICE = 200;

/**
 * Passes text through and drops every whole line matching {@link DAWN_LIMIT_WARNING}. Text is
 * written as soon as it cannot be such a line, so progress output (`\r…` without a newline)
 * is not held back; only a line that starts like a notice waits for its newline.
 */
export class DawnWarningFilter {
  private pending = '';
  private passing = false;

  constructor(private readonly write: (text: string) => void) {}

  push(chunk: string): void {
    let out = '';
    for (let i = 0; i < chunk.length; ) {
      const nl = chunk.indexOf('\n', i);
      const piece = nl === -1 ? chunk.slice(i) : chunk.slice(i, nl + 1);
      i += piece.length;
      const complete = piece.endsWith('\n');
      if (this.passing) {
        out += piece;
        this.passing = !complete;
        continue;
      }
      const line = this.pending + piece;
      this.pending = '';
      if (complete) {
        if (!DAWN_LIMIT_WARNING.test(line.replace(/\r?\n$/, ''))) out += line;
      } else if (couldBeNotice(line)) {
        this.pending = line;
      } else {
        out += line;
        this.passing = true;
      }
    }
    if (out) this.write(out);
  }

  /** Write what is held back (an unfinished line), unless it is a whole notice. */
  end(): void {
    const rest = this.pending;
    this.pending = '';
    this.passing = false;
    if (rest && !DAWN_LIMIT_WARNING.test(rest)) this.write(rest);
  }
}

function couldBeNotice(partial: string): boolean {
  if (partial.length <= PREFIX.length) return PREFIX.startsWith(partial);
  return partial.startsWith(PREFIX) && partial.length <= MAX_NOTICE;
}

/** Set in the child's environment: `tty` when the parent's stderr is a terminal, else `pipe`. */
export const FILTERED_STDERR_ENV = 'KVSIEVE_FILTERED_STDERR';

export interface RelaunchOptions {
  /** Let Dawn's notices through: do not relaunch (default false). */
  readonly verbose?: boolean;
  /** Arguments of the child (default: this process's own, `process.argv.slice(1)`). */
  readonly argv?: readonly string[];
}

/**
 * Runs this Node command again as a child process whose stderr is passed through
 * {@link DawnWarningFilter}; stdin and stdout are shared. Call it first thing in a program that
 * will create a WebGPU backend:
 *
 * ```ts
 * const code = await relaunchWithoutDawnWarnings({ verbose });
 * if (code !== undefined) process.exit(code); // the parent: the child did the work
 * // the child (or verbose): carry on and create the backend
 * ```
 *
 * Returns `undefined` in the child and with `verbose`, and in the parent the child's exit code
 * (128 + the signal number if a signal ended it). SIGINT, SIGTERM and SIGHUP sent to the parent
 * are passed on to the child. In the child, stderr is a pipe: use {@link stderrIsInteractive}
 * instead of `process.stderr.isTTY`.
 */
export async function relaunchWithoutDawnWarnings(opts: RelaunchOptions = {}): Promise<number | undefined> {
  if (opts.verbose || process.env[FILTERED_STDERR_ENV]) return undefined;
  const child = spawn(process.execPath, [...process.execArgv, ...(opts.argv ?? process.argv.slice(1))], {
    stdio: ['inherit', 'inherit', 'pipe'],
    env: { ...process.env, [FILTERED_STDERR_ENV]: process.stderr.isTTY ? 'tty' : 'pipe' },
  });
  const filter = new DawnWarningFilter((text) => process.stderr.write(text));
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => filter.push(chunk));
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const forward = (signal: NodeJS.Signals) => {
    child.kill(signal);
  };
  for (const s of signals) process.on(s, forward);
  try {
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    filter.end();
    if (signal) return 128 + (constants.signals[signal] ?? 0);
    return code ?? 1;
  } finally {
    for (const s of signals) process.off(s, forward);
  }
}

/** Whether stderr is a terminal, also in a child started by {@link relaunchWithoutDawnWarnings}. */
export function stderrIsInteractive(): boolean {
  return process.stderr.isTTY === true || process.env[FILTERED_STDERR_ENV] === 'tty';
}
