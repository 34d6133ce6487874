import { readFileSync } from 'node:fs';
import type { CliIO } from '../src/index.js';

/** A CliIO that records what the command writes; files are read from disk. */
export function capture(over: { cwd?: string } = {}): CliIO & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    interactive: false,
    ...over,
    out(t: string) {
      io.stdout += t;
    },
    err(t: string) {
      io.stderr += t;
    },
    readFile: (p: string) => readFileSync(p, 'utf8'),
  };
  return io;
}
