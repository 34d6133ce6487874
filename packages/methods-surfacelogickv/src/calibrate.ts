import {
  type CompressionMethod,
  type LayerContext,
  METHOD_SPEC,
  type ModelInfo,
  OptionError,
  readInteger,
  readNumberIn,
} from '@kvsieve/core';
import { makeProbe, type NeedleTemplate, type Probe, type ProbeTokenizer } from './probes.js';
import { computeInfsc, type HeadRates, PROFILE_FORMAT, type SlkvProfile } from './profile.js';

/** What calibration needs of a decode session (`@kvsieve/runtime`'s `DecodeSession` fits). */
export interface CalibrationSession {
  /** Next-token logits after the prompt. */
  readonly logits: Float32Array;
  /** Feed one token; the next-token logits come back. */
  step(token: number): Promise<{
    /** Next-token logits over the vocabulary; calibration needs them for greedy answers. */
    readonly logits?: Float32Array;
  }>;
  /** Frees the session's cache; the session is not used afterwards. */
  dispose(): void;
}

/**
 * What calibration needs of a model. `@kvsieve/runtime`'s `Model` fits as it is, so this package
 * does not depend on the runtime.
 */
export interface CalibrationModel {
  /** The model's shape and name, recorded in the profile; `maxPositions` bounds the probe lengths. */
  readonly info: ModelInfo;
  /** Encodes the probes' text. */
  readonly tokenizer: ProbeTokenizer;
  /**
   * Prefills `ids`, with `method` applied when given, and returns a session after them.
   * Calibration passes an observing method that evicts nothing, and no method for greedy answers.
   */
  start(ids: readonly number[], opts: { method?: CompressionMethod }): Promise<CalibrationSession>;
}

/**
 * Options of {@link calibrate}, all optional (defaults in {@link CALIBRATE_DEFAULTS}). A value out of
 * range throws an `OptionError` naming the option.
 */
export interface CalibrateOptions {
  /** Probes to run. Default 30. */
  readonly probes?: number;
  /** Seed (an integer ≥ 0, default 0) of every probe's haystack, needle and value: same seed, same probes. */
  readonly seed?: number;
  /** Surface weight in INFsc. Default 0.5. */
  readonly alpha?: number;
  /** Target prompt lengths in tokens, used in turn. Default [128, 256, 384]. */
  readonly lengths?: readonly number[];
  /** Needle depths in [0, 1], used in turn. Default [0.1, 0.3, 0.5, 0.7, 0.9]. */
  readonly depths?: readonly number[];
  /** 'greedy' (default): the model's own answer; 'teacher': the needle's value, teacher-forced. */
  readonly answer?: 'greedy' | 'teacher';
  /** Haystack sentences (e.g. from an essay); default: the built-in filler grammar. */
  readonly haystack?: {
    /** Recorded in the profile as the haystack's source, e.g. the file name. */
    readonly name: string;
    /** Sentences taken in order from a random start, as many as the target length holds. */
    readonly sentences: readonly string[];
  };
  /** Needle templates instead of the built-in ones ({@link BUILTIN_NEEDLES}). */
  readonly needles?: {
    /** Recorded in the profile as the needles' source. */
    readonly name: string;
    /** The templates a probe draws its needle from. */
    readonly templates: readonly NeedleTemplate[];
  };
  /** Recorded in the profile. */
  readonly backend?: string;
  /** Called after each probe. */
  readonly onProbe?: (done: number, total: number) => void;
}

/** Defaults of {@link calibrate}: sized for small models (prompts of a few hundred tokens). */
export const CALIBRATE_DEFAULTS = {
  /** Needle-in-a-haystack probes run. */
  probes: 30,
  /** Seed of the probes. */
  seed: 0,
  /** Surface weight in INFsc: the spec's 0.5 (surface and logic count alike). */
  alpha: 0.5,
  /** Target prompt lengths in tokens, cycled through. */
  lengths: [128, 256, 384],
  /** Needle depths (fractions of the haystack), cycled through after each round of lengths. */
  depths: [0.1, 0.3, 0.5, 0.7, 0.9],
  /** The model's own greedy answer is the generated token compared with the attended one. */
  answer: 'greedy',
} as const;

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

/**
 * A method that evicts nothing and, after each layer's prefill, finds for every query head and
 * every one of the last `window` queries the key it attends to most. The softmax is monotone, so
 * that is the argmax of q·k over the keys the query may see (ties to the lower position).
 */
function topAttendedObserver(
  window: number,
  sink: (layer: number, top: Int32Array[]) => void,
): CompressionMethod {
  return {
    spec: METHOD_SPEC,
    name: 'slkv-probe-observer',
    options: { window },
    begin: () => ({
      observe: { window },
      async afterLayer(ctx: LayerContext) {
        const [Hkv, n, d] = ctx.keys.shape as [number, number, number];
        const [H, w] = ctx.windowQueries.shape as [number, number, number];
        const keys = await ctx.keys.readF32();
        const queries = await ctx.windowQueries.readF32();
        const G = H / Hkv;
        const top = Array.from({ length: H }, (_, g) => {
          const out = new Int32Array(w);
          const kh = Math.floor(g / G);
          for (let i = 0; i < w; i++) {
            const q = queries.subarray((g * w + i) * d, (g * w + i + 1) * d);
            const visible = n - w + i + 1;
            let best = 0;
            let bestScore = Number.NEGATIVE_INFINITY;
            for (let j = 0; j < visible; j++) {
              const k = keys.subarray((kh * n + j) * d, (kh * n + j + 1) * d);
              let s = 0;
              for (let e = 0; e < d; e++) s += q[e]! * k[e]!;
              if (s > bestScore) {
                bestScore = s;
                best = j;
              }
            }
            out[i] = best;
          }
          return out;
        });
        sink(ctx.layer, top);
        return { keep: 'all', note: 'calibration probe: nothing evicted' };
      },
    }),
  };
}

/**
 * Probe `p` of a calibration: lengths cycle fastest, then depths, so the first
 * `lengths × depths` probes cover the grid once; each probe has its own seed.
 */
export function probeSpec(
  p: number,
  seed: number,
  lengths: readonly number[],
  depths: readonly number[],
): {
  /** Target prompt length in tokens: `lengths[p mod |lengths|]`. */
  length: number;
  /** Needle depth: `depths[⌊p / |lengths|⌋ mod |depths|]`. */
  depth: number;
  /** The probe's own seed, `seed · 100003 + p`. */
  seed: number;
} {
  return {
    length: lengths[p % lengths.length]!,
    depth: depths[Math.floor(p / lengths.length) % depths.length]!,
    seed: seed * 100_003 + p,
  };
}

function readList(
  name: string,
  value: unknown,
  fallback: readonly number[],
  check: (x: unknown, i: number) => number,
): number[] {
  const v = value === undefined ? fallback : value;
  if (!Array.isArray(v) || v.length === 0)
    throw new OptionError(`calibrate: option "${name}" must be a non-empty array, got ${JSON.stringify(v)}`);
  return v.map(check);
}

/**
 * Profile a model's heads with needle-in-a-haystack probes (SurfaceLogicKV's offline stage). For
 * each probe and each answer step, each query head's most-attended prompt position is classed:
 * in the needle and holding the generated token → surface; in the needle otherwise → logic;
 * elsewhere → ignore. Rates are over all steps of all probes. Answer steps are observed with one
 * prefill over prompt + answer (all but the last token), which computes exactly the attention the
 * decode steps computed, since attention is causal.
 */
export async function calibrate(
  model: CalibrationModel,
  options: CalibrateOptions = {},
): Promise<SlkvProfile> {
  const where = 'calibrate';
  const count = readInteger(where, 'probes', options.probes ?? CALIBRATE_DEFAULTS.probes, { min: 1 });
  const seed = readInteger(where, 'seed', options.seed ?? CALIBRATE_DEFAULTS.seed, { min: 0 });
  const alpha = readNumberIn(where, 'alpha', options.alpha ?? CALIBRATE_DEFAULTS.alpha, {
    min: 0,
    max: 1,
    range: '[0, 1]',
  });
  const maxPositions = model.info.maxPositions ?? Number.POSITIVE_INFINITY;
  const lengths = readList('lengths', options.lengths, CALIBRATE_DEFAULTS.lengths, (x, i) =>
    readInteger(where, `lengths[${i}]`, x, {
      min: 16,
      ...(Number.isFinite(maxPositions)
        ? {
            max: maxPositions - 16,
            hint: `(the model handles ${maxPositions} positions, and the answer needs room)`,
          }
        : {}),
    }),
  );
  const depths = readList('depths', options.depths, CALIBRATE_DEFAULTS.depths, (x, i) =>
    readNumberIn(where, `depths[${i}]`, x, { min: 0, max: 1, range: '[0, 1]' }),
  );
  const answerMode = options.answer ?? CALIBRATE_DEFAULTS.answer;
  if (answerMode !== 'greedy' && answerMode !== 'teacher')
    throw new OptionError(
      `calibrate: option "answer" must be "greedy" or "teacher", got ${JSON.stringify(answerMode)}`,
    );
  const { numLayers, numHeads, numKvHeads } = model.info;
  const surface = Array.from({ length: numLayers }, () => new Float64Array(numHeads));
  const logic = Array.from({ length: numLayers }, () => new Float64Array(numHeads));
  let steps = 0;
  let exact = 0;
  let minTokens = Number.POSITIVE_INFINITY;
  let maxTokens = 0;
  const started = performance.now();
  for (let p = 0; p < count; p++) {
    const probe: Probe = makeProbe(model.tokenizer, {
      ...probeSpec(p, seed, lengths, depths),
      ...(options.haystack ? { sentences: options.haystack.sentences } : {}),
      ...(options.needles ? { needles: options.needles.templates } : {}),
    });
    minTokens = Math.min(minTokens, probe.prompt.length);
    maxTokens = Math.max(maxTokens, probe.prompt.length);
    const m = probe.answer.length;
    const generated = answerMode === 'teacher' ? [...probe.answer] : await greedy(model, probe.prompt, m);
    if (answerMode === 'greedy' && generated.every((t, i) => t === probe.answer[i])) exact++;
    const seq = [...probe.prompt, ...generated.slice(0, m - 1)];
    const observer = topAttendedObserver(m, (layer, top) => {
      top.forEach((positions, g) => {
        positions.forEach((j, i) => {
          if (j < probe.needle.start || j >= probe.needle.end) return;
          if (seq[j] === generated[i]) surface[layer]![g]! += 1;
          else logic[layer]![g]! += 1;
        });
      });
    });
    (await model.start(seq, { method: observer })).dispose();
    steps += m;
    options.onProbe?.(p + 1, count);
  }
  const heads: HeadRates[][] = surface.map((row, l) =>
    Array.from(row, (s, g) => ({ surface: s / steps, logic: logic[l]![g]! / steps, steps })),
  );
  return {
    format: PROFILE_FORMAT,
    model: { name: model.info.name ?? 'unnamed model', numLayers, numHeads, numKvHeads },
    alpha,
    probes: {
      count,
      seed,
      lengths,
      depths,
      answer: answerMode,
      haystack: options.haystack?.name ?? 'generated filler (builtin-v1)',
      needles: options.needles?.name ?? 'builtin-v1',
      promptTokens: [minTokens, maxTokens],
      ...(answerMode === 'greedy' ? { exactAnswers: exact } : {}),
      ...(options.backend ? { backend: options.backend } : {}),
      seconds: Math.round((performance.now() - started) / 10) / 100,
    },
    heads,
    infsc: computeInfsc(heads, alpha),
  };
}

async function greedy(model: CalibrationModel, prompt: readonly number[], m: number): Promise<number[]> {
  const session = await model.start(prompt, {});
  try {
    const out = [argmax(session.logits)];
    for (let i = 1; i < m; i++) out.push(argmax((await session.step(out[i - 1]!)).logits!));
    return out;
  } finally {
    session.dispose();
  }
}
