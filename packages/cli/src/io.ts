import { readFileSync } from 'node:fs';
import { colorAllowed } from './style.js';

/** Where the CLI writes and reads; tests capture it. */
export interface CliIO {
  /** Writes results (stdout); `text` carries its own newlines. */
  out(text: string): void;
  /** Writes progress, notes and errors (stderr). */
  err(text: string): void;
  /** True when stderr is a terminal (progress bars redraw in place). */
  readonly interactive: boolean;
  /** Whether stderr may carry ANSI styles (a terminal, NO_COLOR unset); absent means no. */
  readonly color?: boolean;
  /** Reads a UTF-8 text file (prompt files, chat templates); throws when it cannot. */
  readFile(path: string): string;
  /** Where relative output paths and method modules resolve (default: the process's). */
  readonly cwd?: string;
}

// A run relaunched to filter the GPU driver's notices (bin.ts) has a pipe for stderr; the parent
// says whether its own was a terminal.
const interactive = Boolean(process.stderr.isTTY) || process.env.KVSIEVE_FILTERED_STDERR === 'tty';

export const processIO: CliIO = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  interactive,
  color: colorAllowed(process.env, interactive),
  readFile: (p) => readFileSync(p, 'utf8'),
};
