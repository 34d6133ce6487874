import { Environment, Interpreter, type Template } from '@huggingface/jinja';

/** Thrown by a template's `raise_exception`, told apart from the renderer's own errors. */
export class RaisedByTemplate extends Error {}

/**
 * Renders a parsed template with the globals Hugging Face provides. `Template.render` would declare
 * its own `raise_exception` (a plain Error, indistinguishable from a rendering bug) and refuses a
 * second declaration, so the environment is built here with the same globals.
 */
export function renderTemplate(parsed: Template, variables: Readonly<Record<string, unknown>>): string {
  const env = new Environment();
  const globals: Record<string, unknown> = {
    false: false,
    true: true,
    none: null,
    False: false,
    True: true,
    None: null,
    range,
    strftime_now: strftimeNow,
    raise_exception: (message: unknown) => {
      throw new RaisedByTemplate(String(message));
    },
  };
  for (const [k, v] of Object.entries({ ...globals, ...variables })) env.set(k, v);
  const out = new Interpreter(env).run(parsed.parsed);
  return String(out.value);
}

/** Python's range(stop) / range(start, stop[, step]). */
function range(start: number, stop?: number, step = 1): number[] {
  const [from, to] = stop === undefined ? [0, start] : [start, stop];
  if (step === 0) throw new Error('range() step must not be zero');
  const out: number[] = [];
  for (let i = from; step > 0 ? i < to : i > to; i += step) out.push(i);
  return out;
}

/** strftime of the current local time for the directives chat templates use. */
function strftimeNow(format: string): string {
  const d = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  const month = (style: 'long' | 'short') => new Intl.DateTimeFormat('en-US', { month: style }).format(d);
  return String(format).replace(/%[YmdbBHMS%]/g, (t) => {
    switch (t) {
      case '%Y':
        return String(d.getFullYear());
      case '%m':
        return pad(d.getMonth() + 1);
      case '%d':
        return pad(d.getDate());
      case '%b':
        return month('short');
      case '%B':
        return month('long');
      case '%H':
        return pad(d.getHours());
      case '%M':
        return pad(d.getMinutes());
      case '%S':
        return pad(d.getSeconds());
      default:
        return '%';
    }
  });
}
