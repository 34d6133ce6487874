/**
 * Values quoted in error messages. Model files are untrusted: a name or value read from one may
 * hold newlines, megabytes of text or bigints (which JSON.stringify refuses), and every message must
 * stay one short line.
 */
const MAX_SHOWN = 80;

/** A JSON-ish rendering of any value, one line, at most about 80 characters. */
export function show(v: unknown): string {
  let s: string;
  if (typeof v === 'bigint') s = String(v);
  else if (v === undefined) s = 'nothing';
  else if (typeof v === 'number' && !Number.isFinite(v)) s = String(v);
  else {
    try {
      s = JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? String(x) : x)) ?? String(v);
    } catch {
      s = Object.prototype.toString.call(v);
    }
  }
  return clip(s);
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we look for
const PLAIN = /^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]+$/;

/** A name from a file (tensor, key): as is when printable, else quoted with escapes; clipped. */
export function showName(name: string): string {
  return clip(PLAIN.test(name) ? name : JSON.stringify(name), 160);
}

/** A path built from a name in a file: escaped like {@link showName}, never clipped. */
export function showPath(path: string): string {
  return PLAIN.test(path) ? path : JSON.stringify(path);
}

/** The kind of a JSON value, for "expected ..., got ..." messages. */
export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array ${show(v)}`;
  if (typeof v === 'object') return `an object ${show(v)}`;
  if (typeof v === 'string') return `the string ${show(v)}`;
  return show(v);
}

/** An error's message as one line (libraries write multi-line messages). */
export function oneLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return clip(m.replace(/\s*[\r\n]+\s*/g, ' ').trim(), 300);
}

function clip(s: string, max = MAX_SHOWN): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
