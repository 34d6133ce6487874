import { type ModelInfo, OptionError } from '@kvsieve/core';

/** A SurfaceLogicKV profile that is malformed, or made for another model. */
export class ProfileError extends OptionError {
  /** `'ProfileError'`: the class's name, for messages and `err.name` checks. */
  override name = 'ProfileError';
}

/** The `format` tag of the profile files this version writes and reads; a profile with any other is refused. */
export const PROFILE_FORMAT = 'kvsieve.slkv-profile/v1' as const;

/** What one attention (query) head did over all probe answer steps. */
export interface HeadRates {
  /** Fraction of steps whose most-attended position lay in the needle and held the generated token. */
  readonly surface: number;
  /** Fraction of steps whose most-attended position lay in the needle but held another token. */
  readonly logic: number;
  /** Answer steps observed (the denominator of both rates). */
  readonly steps: number;
}

/** How the probes were made, so a profile can be reproduced and judged. */
export interface ProbeRecord {
  /** Probes run. */
  readonly count: number;
  /** The calibration's seed; probe `p` was built with its own seed derived from it ({@link probeSpec}). */
  readonly seed: number;
  /** Target prompt lengths in tokens. */
  readonly lengths: readonly number[];
  /** Needle depths, as fractions of the haystack. */
  readonly depths: readonly number[];
  /** 'greedy': the model's own answer tokens; 'teacher': the needle's value, teacher-forced. */
  readonly answer: 'greedy' | 'teacher';
  /** Where the haystack came from, e.g. "generated filler (builtin-v1)" or a file name. */
  readonly haystack: string;
  /** Which needle templates were used: "builtin-v1" or the name given with them. */
  readonly needles: string;
  /** Actual prompt lengths, smallest and largest. */
  readonly promptTokens: readonly [number, number];
  /** Greedy runs: probes whose answer equalled the needle's value token for token. */
  readonly exactAnswers?: number;
  /** The backend the probes ran on, as the caller named it (a record only). */
  readonly backend?: string;
  /** Wall-clock time of the whole calibration, in seconds. */
  readonly seconds?: number;
}

/**
 * A SurfaceLogicKV head profile, the JSON file `kvsieve calibrate` writes beside a model: per query
 * head, how often it copied from the needle or reasoned over it in needle-in-a-haystack probes, and
 * the INFsc derived from those rates. Made by {@link calibrate}, read by {@link parseProfile} or
 * {@link loadProfile}; it fits only models of the shape it records.
 */
export interface SlkvProfile {
  /** Always {@link PROFILE_FORMAT}. */
  readonly format: typeof PROFILE_FORMAT;
  /** The model it was made for: a run refuses a model with other layer or head counts. */
  readonly model: {
    /** For messages and reports only; not compared. */
    readonly name: string;
    /** Transformer layers. */
    readonly numLayers: number;
    /** Query (attention) heads per layer: the profile's rows. */
    readonly numHeads: number;
    /** KV heads per layer; divides `numHeads` (GQA groups of `numHeads / numKvHeads`). */
    readonly numKvHeads: number;
  };
  /** Weight of the surface rate in INFsc (the logic rate gets 1 − alpha). */
  readonly alpha: number;
  /** How the probes were made. */
  readonly probes: ProbeRecord;
  /** `[numLayers][numHeads]`, per query head. */
  readonly heads: readonly (readonly HeadRates[])[];
  /** `[numLayers][numHeads]`: `alpha·surface + (1 − alpha)·logic`, normalized to sum to 1 (all 0 when no head ever hit the needle). */
  readonly infsc: readonly (readonly number[])[];
}

/** INFsc from rates: `alpha·surface + (1 − alpha)·logic`, normalized over every head of every layer. */
export function computeInfsc(heads: readonly (readonly HeadRates[])[], alpha: number): number[][] {
  const raw = heads.map((row) => row.map((h) => alpha * h.surface + (1 - alpha) * h.logic));
  const total = raw.reduce((a, row) => a + row.reduce((b, x) => b + x, 0), 0);
  return raw.map((row) => row.map((x) => (total > 0 ? x / total : 0)));
}

const FIX = 'make a new one with `kvsieve calibrate <model>`';

class Checker {
  constructor(readonly source: string) {}
  fail(field: string, expected: string, got: unknown): never {
    let shown: string;
    try {
      shown = JSON.stringify(got) ?? String(got);
    } catch {
      shown = String(got);
    }
    if (shown.length > 80) shown = `${shown.slice(0, 77)}...`;
    throw new ProfileError(
      `SurfaceLogicKV profile ${this.source}: field "${field}" must be ${expected}, got ${shown}; ${FIX}`,
    );
  }
  object(v: unknown, field: string): Record<string, unknown> {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(field, 'an object', v);
    return v as Record<string, unknown>;
  }
  int(v: unknown, field: string, min: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) this.fail(field, `an integer ≥ ${min}`, v);
    return v;
  }
  rate(v: unknown, field: string): number {
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) this.fail(field, 'a number in [0, 1]', v);
    return v;
  }
  array(v: unknown, field: string, length?: number): unknown[] {
    if (!Array.isArray(v)) this.fail(field, length === undefined ? 'an array' : `an array of ${length}`, v);
    if (length !== undefined && v.length !== length)
      this.fail(
        field,
        `an array of ${length} entries (one per ${field === 'heads' || field === 'infsc' ? 'layer' : 'head'})`,
        `${v.length} entries`,
      );
    return v;
  }
}

/**
 * Check a parsed profile (from JSON) field by field and return it typed. `source` names it in
 * errors (a file path, or "object"). INFsc must agree with the rates and alpha to 1e-6.
 */
export function parseProfile(value: unknown, source = 'object'): SlkvProfile {
  const c = new Checker(source);
  const o = c.object(value, '(root)');
  if (o.format !== PROFILE_FORMAT) c.fail('format', `"${PROFILE_FORMAT}"`, o.format);
  const m = c.object(o.model, 'model');
  if (typeof m.name !== 'string') c.fail('model.name', 'a string', m.name);
  const numLayers = c.int(m.numLayers, 'model.numLayers', 1);
  const numHeads = c.int(m.numHeads, 'model.numHeads', 1);
  const numKvHeads = c.int(m.numKvHeads, 'model.numKvHeads', 1);
  if (numHeads % numKvHeads !== 0)
    c.fail('model.numKvHeads', `a divisor of model.numHeads (${numHeads})`, numKvHeads);
  const alpha = c.rate(o.alpha, 'alpha');
  const p = c.object(o.probes, 'probes');
  c.int(p.count, 'probes.count', 1);
  c.int(p.seed, 'probes.seed', 0);
  c.array(p.lengths, 'probes.lengths').forEach((x, i) => c.int(x, `probes.lengths[${i}]`, 1));
  c.array(p.depths, 'probes.depths').forEach((x, i) => c.rate(x, `probes.depths[${i}]`));
  if (p.answer !== 'greedy' && p.answer !== 'teacher')
    c.fail('probes.answer', '"greedy" or "teacher"', p.answer);
  if (typeof p.haystack !== 'string') c.fail('probes.haystack', 'a string', p.haystack);
  if (typeof p.needles !== 'string') c.fail('probes.needles', 'a string', p.needles);
  const tokens = c.array(p.promptTokens, 'probes.promptTokens', 2);
  tokens.forEach((x, i) => c.int(x, `probes.promptTokens[${i}]`, 1));
  const heads = c.array(o.heads, 'heads', numLayers).map((row, l) =>
    c.array(row, `heads[${l}]`, numHeads).map((h, g) => {
      const f = `heads[${l}][${g}]`;
      const r = c.object(h, f);
      const surface = c.rate(r.surface, `${f}.surface`);
      const logic = c.rate(r.logic, `${f}.logic`);
      const steps = c.int(r.steps, `${f}.steps`, 1);
      if (surface + logic > 1 + 1e-9) c.fail(`${f}.surface + logic`, 'at most 1', surface + logic);
      return { surface, logic, steps };
    }),
  );
  const want = computeInfsc(heads, alpha);
  const infsc = c.array(o.infsc, 'infsc', numLayers).map((row, l) =>
    c.array(row, `infsc[${l}]`, numHeads).map((x, g) => {
      const f = `infsc[${l}][${g}]`;
      const v = c.rate(x, f);
      if (Math.abs(v - want[l]![g]!) > 1e-6)
        c.fail(f, `${want[l]![g]} (alpha·surface + (1 − alpha)·logic of heads[${l}][${g}], normalized)`, v);
      return v;
    }),
  );
  return {
    format: PROFILE_FORMAT,
    model: { name: m.name as string, numLayers, numHeads, numKvHeads },
    alpha,
    probes: p as unknown as ProbeRecord,
    heads,
    infsc,
  };
}

/** Parse profile JSON text; `source` names it in errors. */
export function parseProfileJson(text: string, source: string): SlkvProfile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ProfileError(
      `SurfaceLogicKV profile ${source} is not valid JSON (${(e as Error).message}); ${FIX}`,
    );
  }
  return parseProfile(value, source);
}

/**
 * Read and check a profile file. Node only (it reads the file through `process.getBuiltinModule`,
 * so importing this package never pulls `node:fs` into a browser bundle); in a browser fetch the
 * JSON yourself and call {@link parseProfileJson}.
 */
export function loadProfile(path: string): SlkvProfile {
  const fs = (
    globalThis as {
      process?: { getBuiltinModule?: (id: string) => unknown };
    }
  ).process?.getBuiltinModule?.('node:fs') as typeof import('node:fs') | undefined;
  if (!fs) {
    throw new ProfileError(
      `SurfaceLogicKV profile ${path}: reading a file needs Node.js ≥ 20.16; elsewhere pass the parsed profile object (parseProfileJson(text, name))`,
    );
  }
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    throw new ProfileError(
      `SurfaceLogicKV profile ${path}: cannot read it (${(e as Error).message}); give the path of a file written by \`kvsieve calibrate <model>\``,
    );
  }
  return parseProfileJson(text, path);
}

/** Throws unless the profile was made for a model of this shape. */
export function checkProfileMatches(profile: SlkvProfile, model: ModelInfo, source = 'object'): void {
  const p = profile.model;
  if (p.numLayers !== model.numLayers || p.numHeads !== model.numHeads || p.numKvHeads !== model.numKvHeads) {
    const shape = (l: number, h: number, kv: number) => `${l} layers × ${h} heads (${kv} KV heads)`;
    throw new ProfileError(
      `SurfaceLogicKV profile ${source} was made for ${p.name} with ${shape(p.numLayers, p.numHeads, p.numKvHeads)}, but this model${model.name ? ` (${model.name})` : ''} has ${shape(model.numLayers, model.numHeads, model.numKvHeads)}; calibrate this model (\`kvsieve calibrate <model>\`) and pass that profile`,
    );
  }
}

/**
 * A head's dominant behaviour in the probes: `'surface'` memorization (it attended most to a needle
 * token equal to the one generated: a copy), `'logic'` construction (to the needle, but another
 * token), or `'ignore'` (it attended most outside the needle).
 */
export type HeadRole = 'surface' | 'logic' | 'ignore';

/** A head's dominant behaviour: the largest of its surface, logic and ignore rates (ties: ignore, then logic). */
export function headRole(h: HeadRates): HeadRole {
  const ignore = 1 - h.surface - h.logic;
  if (ignore >= h.surface && ignore >= h.logic) return 'ignore';
  return h.logic >= h.surface ? 'logic' : 'surface';
}

/** Counts over a profile's query heads, for reports (see {@link summarizeProfile}). */
export interface ProfileSummary {
  /** Query heads in all: layers × heads per layer. */
  readonly heads: number;
  /** Heads whose dominant role ({@link headRole}) is surface memorization. */
  readonly surface: number;
  /** Heads whose dominant role is logic construction. */
  readonly logic: number;
  /** Heads that mostly attended outside the needle (most heads, on long inputs). */
  readonly ignore: number;
  /** Heads with a nonzero INFsc. */
  readonly scored: number;
  /** Of the scored heads: those whose surface rate exceeds their logic rate, and the others. */
  readonly leaning: {
    /** Scored heads whose surface rate exceeds their logic rate. */
    readonly surface: number;
    /** Scored heads whose logic rate is at least their surface rate. */
    readonly logic: number;
  };
  /** The highest-INFsc heads, best first (heads with INFsc 0 are left out). */
  readonly top: readonly {
    /** Layer index, 0-based. */
    layer: number;
    /** Query head index within the layer, 0-based. */
    head: number;
    /** The head's normalized INFsc (all heads sum to 1). */
    infsc: number;
    /** Its surface-memorization rate over all answer steps. */
    surface: number;
    /** Its logic-construction rate over all answer steps. */
    logic: number;
  }[];
}

/**
 * Head-role counts and the `topN` (default 5) heads by INFsc, for reports such as `kvsieve
 * calibrate`'s. Fewer than `topN` come back when fewer heads have a nonzero INFsc.
 */
export function summarizeProfile(profile: SlkvProfile, topN = 5): ProfileSummary {
  const counts = { surface: 0, logic: 0, ignore: 0 };
  const all: { layer: number; head: number; infsc: number; surface: number; logic: number }[] = [];
  profile.heads.forEach((row, layer) =>
    row.forEach((h, head) => {
      counts[headRole(h)]++;
      all.push({ layer, head, infsc: profile.infsc[layer]![head]!, surface: h.surface, logic: h.logic });
    }),
  );
  all.sort((a, b) => b.infsc - a.infsc || a.layer - b.layer || a.head - b.head);
  return {
    heads: all.length,
    ...counts,
    scored: all.filter((x) => x.infsc > 0).length,
    leaning: {
      surface: all.filter((x) => x.infsc > 0 && x.surface > x.logic).length,
      logic: all.filter((x) => x.infsc > 0 && x.surface <= x.logic).length,
    },
    top: all.slice(0, topN).filter((x) => x.infsc > 0),
  };
}
