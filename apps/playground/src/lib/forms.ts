// Method option forms from the methods' declared options (method-kit's schemas): which input each
// option gets, and how the typed text becomes the value the method reads. Validation stays with the
// method: a value that does not parse is passed on as typed, so the method's own message names the
// option, the allowed values and what was given.
import type { OptionField } from '../worker/protocol.js';

export type InputKind = 'text' | 'number' | 'select' | 'checkbox';

export interface FormField {
  readonly name: string;
  readonly input: InputKind;
  readonly label: string;
  /** Shown under the input: the option's doc and allowed values. */
  readonly help: string;
  readonly placeholder: string;
  readonly required: boolean;
  readonly choices: readonly string[];
}

/** A budget as people type it: "25%" (a ratio) or "64" (tokens). */
export function parseBudget(text: string): unknown {
  const t = text.trim();
  const pct = /^(\d+(?:\.\d+)?)\s*%$/.exec(t);
  if (pct) return { ratio: Number(pct[1]) / 100 };
  if (/^\d+$/.test(t)) return Number(t);
  if (/^0?\.\d+$/.test(t)) return { ratio: Number(t) };
  return parseJsonish(t);
}

/** JSON when it parses ({"tokens": 8}, [0.2, 0.3, 0.5], 3), else the text itself ("auto"). */
function parseJsonish(t: string): unknown {
  try {
    return JSON.parse(t);
  } catch {
    return t;
  }
}

/** The form field of one declared option. */
export function formField(f: OptionField): FormField {
  const input: InputKind =
    f.kind === 'choice'
      ? 'select'
      : f.kind === 'boolean'
        ? 'checkbox'
        : f.kind === 'integer' || f.kind === 'number'
          ? 'number'
          : 'text';
  const placeholder =
    f.kind === 'budget'
      ? f.defaultText
        ? `default ${f.defaultText}`
        : 'e.g. 25% or 64'
      : f.defaultText
        ? `default ${f.defaultText}`
        : f.presence === 'optional'
          ? 'not set'
          : '';
  return {
    name: f.name,
    input,
    label: f.name,
    help: `${f.doc} Allowed: ${f.allowed}.`,
    placeholder,
    required: f.presence === 'required',
    choices: f.choices ?? [],
  };
}

/** The value of one field from its text; undefined when left empty (the method's default applies). */
export function parseField(f: OptionField, text: string): unknown {
  const t = text.trim();
  if (t === '') return undefined;
  switch (f.kind) {
    case 'budget':
      return parseBudget(t);
    case 'integer':
    case 'number':
      return /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(t) ? Number(t) : t;
    case 'boolean':
      return t === 'true' ? true : t === 'false' ? false : t;
    case 'choice':
      return t;
    default:
      return parseJsonish(t);
  }
}

/** Options for the method from the form's texts, leaving out empty fields. */
export function optionsFromTexts(
  fields: readonly OptionField[],
  texts: Readonly<Record<string, string>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const v = parseField(f, texts[f.name] ?? '');
    if (v !== undefined) out[f.name] = v;
  }
  return out;
}
