import { readFileSync } from 'node:fs';

/** Where the CLI writes and reads; tests capture it. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal (progress bars redraw in place). */
  readonly interactive: boolean;
  readFile(path: string): string;
  /** Let the GPU driver's own warnings through (`--verbose`). */
  readonly verbose?: boolean;
  /** Where relative output paths and method modules resolve (default: the process's). */
  readonly cwd?: string;
}

export const processIO: CliIO = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  interactive: Boolean(process.stderr.isTTY),
  readFile: (p) => readFileSync(p, 'utf8'),
};
