import { readFileSync } from 'node:fs';

/** Where the CLI writes and reads; tests capture it. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal (progress bars redraw in place). */
  readonly interactive: boolean;
  readFile(path: string): string;
  /** Where relative output paths and method modules resolve (default: the process's). */
  readonly cwd?: string;
}

export const processIO: CliIO = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  // A run relaunched to filter the GPU driver's notices (bin.ts) has a pipe for stderr; the parent
  // says whether its own was a terminal.
  interactive: Boolean(process.stderr.isTTY) || process.env.KVSIEVE_FILTERED_STDERR === 'tty',
  readFile: (p) => readFileSync(p, 'utf8'),
};
