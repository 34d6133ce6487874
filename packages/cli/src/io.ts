import { readFileSync } from 'node:fs';

/** Where the CLI writes and reads; tests capture it. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal (progress bars redraw in place). */
  readonly interactive: boolean;
  readFile(path: string): string;
}

export const processIO: CliIO = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  interactive: Boolean(process.stderr.isTTY),
  readFile: (p) => readFileSync(p, 'utf8'),
};
