const CODES = { error: ['\x1b[1;31m', '\x1b[0m'], note: ['\x1b[33m', '\x1b[0m'] } as const;

/**
 * `text` styled for stderr when `io.color` is on: a terminal, and NO_COLOR unset or empty
 * (https://no-color.org), TERM not "dumb". Pipes, files and tests get the plain text.
 */
// Takes only what it reads (not CliIO): io.ts imports colorAllowed from here.
export function paint(io: { readonly color?: boolean }, style: keyof typeof CODES, text: string): string {
  if (!io.color) return text;
  const [on, off] = CODES[style];
  return `${on}${text}${off}`;
}

/** Whether a terminal on stderr may be styled: NO_COLOR (any non-empty value) and TERM=dumb say no. */
export function colorAllowed(
  env: Readonly<Record<string, string | undefined>>,
  interactive: boolean,
): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  return interactive && env.TERM !== 'dumb';
}
