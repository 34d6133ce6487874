import {
  type Budget,
  fitPrompt,
  type LayerContext,
  type LayerDecision,
  type MethodRun,
  type ModelInfo,
} from '@kvsieve/core';
import {
  defineMethod,
  earlierTokens,
  type OptionsInput,
  option,
  type ReadContext,
} from '@kvsieve/method-kit';

/** What to do with the `(budget − window) mod chunkSize` tokens that no whole chunk fills. */
export type ChunkLeftover = 'tokens' | 'unused';
/** Every {@link ChunkLeftover}, in the order the command line lists them. */
export const CHUNK_LEFTOVERS: readonly ChunkLeftover[] = ['tokens', 'unused'];

/** ChunkKV's defaults: the paper's chunks of 10 tokens, no layer-wise index reuse. */
export const CHUNKKV_DEFAULTS = {
  /** Observation window `w`: the last 32 prompt tokens, kept in every layer and never scored. */
  window: 32,
  /** Tokens per chunk `c` (the paper's 10; kvpress registers 20). Shrunk to fit a small budget. */
  chunkSize: 10,
  /** Layers per index-sharing group: 1 is no reuse (2 is the typical setting when on). */
  reuse: 1,
  /** Budget left over by whole chunks goes to the best single tokens. */
  leftover: 'tokens',
} as const;

/**
 * Kept prefix positions (ascending) for one layer from per-token scores summed over all heads.
 * Chunk `i` covers prefix tokens `[i·c, min((i+1)·c, P))`; a final partial chunk is scored by the
 * mean of its tokens times `c`, so a short tail is neither favoured nor penalised for its length.
 * Ties between chunks or tokens go to the earlier position.
 */
export function selectChunks(
  scores: Float32Array,
  keepPrefix: number,
  chunkSize: number,
  leftover: ChunkLeftover,
): Int32Array {
  const P = scores.length;
  const c = chunkSize;
  const numChunks = Math.ceil(P / c);
  const chunkScore = new Float64Array(numChunks);
  for (let i = 0; i < numChunks; i++) {
    const end = Math.min(P, (i + 1) * c);
    let s = 0;
    for (let j = i * c; j < end; j++) s += scores[j]!;
    chunkScore[i] = end - i * c === c ? s : (s / (end - i * c)) * c;
  }
  const order = Array.from({ length: numChunks }, (_, i) => i).sort(
    (a, b) => chunkScore[b]! - chunkScore[a]! || a - b,
  );
  const keep = new Uint8Array(P);
  let kept = 0;
  const chunks = Math.min(numChunks, Math.floor(keepPrefix / c));
  for (let r = 0; r < chunks; r++) {
    const i = order[r]!;
    for (let j = i * c; j < Math.min(P, (i + 1) * c); j++) {
      keep[j] = 1;
      kept++;
    }
  }
  if (leftover === 'tokens' && kept < keepPrefix) {
    const rest: number[] = [];
    for (let j = 0; j < P; j++) if (!keep[j]) rest.push(j);
    rest.sort((a, b) => scores[b]! - scores[a]! || a - b);
    for (let r = 0; r < Math.min(rest.length, keepPrefix - kept); r++) keep[rest[r]!] = 1;
  }
  const out: number[] = [];
  for (let j = 0; j < P; j++) if (keep[j]) out.push(j);
  return Int32Array.from(out);
}

/** Token scores of a layer: window scores summed over every query head, one value per prefix token. */
async function layerTokenScores(ctx: LayerContext): Promise<Float32Array> {
  const perKv = await ctx.prefixScores({ reduce: 'sum' }).readF32();
  const P = ctx.length - ctx.window;
  const out = new Float32Array(P);
  for (let h = 0; h < perKv.length / P; h++) for (let j = 0; j < P; j++) out[j]! += perKv[h * P + j]!;
  return out;
}

/** What a ChunkKV instance holds besides the contract: its resolved budget and window, and `begin`. */
export interface ChunkKVBody {
  /** Tokens kept per KV head, window included, as given (a count, `{ tokens }` or `{ ratio }`). */
  readonly budget: Budget;
  /** Observation window in tokens, as resolved (a short prompt's run may still halve it to fit). */
  readonly window: number;
  /**
   * Starts a run for one prompt: fits the window and chunk size to the prompt's budget (each
   * shrink is reported in the layer's note), then selects per layer, or reuses the group's positions.
   */
  begin(model: ModelInfo, prompt: { readonly length: number }): MethodRun;
}

/**
 * ChunkKV: contiguous chunks of `chunkSize` prefix tokens are the unit of selection; a layer keeps
 * its top `⌊(budget − window) / chunkSize⌋` chunks by summed window score, at the same positions in
 * every KV head, plus the window. With `reuse > 1`, layers share the positions of their group's first layer.
 */
export const definition = defineMethod({
  name: 'chunkkv',
  summary:
    'Whole chunks of tokens are the unit of selection: each layer keeps its best chunks by summed window score, the same positions in every KV head, plus the window; layers may reuse the indices of the layer before.',
  options: {
    /** Tokens kept per KV head, window included (`C`): `n`, `{ tokens: n }` or `{ ratio: r }`. Required. */
    budget: option.budget({
      doc: 'Tokens kept per KV head, window included: a count, { tokens } or { ratio } of the prompt.',
    }),
    /**
     * Observation window `w` (≥ 1): the last prompt tokens, whose queries score the prefix; always
     * kept. Default 32, halved when it does not fit a budget in tokens.
     */
    window: option.window({
      default: CHUNKKV_DEFAULTS.window,
      doc: 'Observation window: the last prompt tokens, always kept, never scored.',
    }),
    /**
     * Tokens per chunk `c`, between 1 and `budget − window` for a budget in tokens. Default 10, or
     * `budget − window` when that is smaller. A prompt whose prefix budget is below one chunk gets
     * chunks of that size. A final partial chunk is scored by its mean token score times `c`.
     */
    chunkSize: option.integer({
      // A default that does not fit a small budget in tokens shrinks to it, as the window does.
      default: (ctx: ReadContext) => {
        const tokens = earlierTokens(ctx, 'budget');
        const w = ctx.values.window as number;
        return tokens === undefined
          ? CHUNKKV_DEFAULTS.chunkSize
          : Math.max(1, Math.min(CHUNKKV_DEFAULTS.chunkSize, tokens - w));
      },
      min: 1,
      max: (ctx) => {
        const tokens = earlierTokens(ctx, 'budget');
        return tokens === undefined ? undefined : tokens - (ctx.values.window as number);
      },
      hint: (ctx) => `(budget − window = ${earlierTokens(ctx, 'budget')} − ${ctx.values.window})`,
      doc: 'Tokens per chunk, at most budget − window (the paper uses 10).',
    }),
    /**
     * Layer-wise index reuse (≥ 1): layers are grouped by `reuse`; the first layer of a group scores
     * and selects, the next `reuse − 1` keep its positions without scoring. Default 1 (off).
     */
    reuse: option.integer({
      default: CHUNKKV_DEFAULTS.reuse,
      min: 1,
      doc: "Layers per index-sharing group: the group's first layer scores and selects, the next reuse − 1 layers keep the same positions without scoring (1: no reuse).",
    }),
    /** What fills `(budget − window) mod chunkSize`: the best single tokens (`'tokens'`, default) or nothing (`'unused'`). */
    leftover: option.choice(CHUNK_LEFTOVERS, {
      default: CHUNKKV_DEFAULTS.leftover,
      doc: "'tokens': fill the budget no whole chunk fills with the best single tokens outside the kept chunks; 'unused': leave it.",
    }),
  },
  build: (o): ChunkKVBody => ({
    budget: o.budget,
    window: o.window,
    begin(model, prompt): MethodRun {
      const rule = { where: 'chunkkv', name: 'window', min: 1 };
      const fit = fitPrompt(rule, o.budget, o.window, prompt.length);
      // A ratio budget that leaves less than a chunk for a short prompt gets chunks of what is left.
      const chunkSize = fit.compresses ? Math.min(o.chunkSize, fit.capacity - fit.reserved) : o.chunkSize;
      const chunkNote =
        chunkSize < o.chunkSize
          ? `chunkSize ${o.chunkSize} shrunk to ${chunkSize} to fit the prefix budget (${fit.capacity} − ${fit.reserved})`
          : undefined;
      const note = [fit.note, chunkNote].filter(Boolean).join('; ') || undefined;
      // Positions chosen by the first layer of the current reuse group, with the length they index.
      let shared: { length: number; prefix: Int32Array } | null = null;
      return {
        observe: { window: fit.reserved },
        async afterLayer(ctx): Promise<LayerDecision> {
          if (ctx.length <= fit.capacity)
            return { keep: 'all', note: `${ctx.length} tokens fit the budget: nothing evicted` };
          const first = ctx.layer % o.reuse === 0;
          // A reuse layer holding a different token count (structural propagation) cannot index
          // with the group's positions, so it scores for itself.
          if (first || shared === null || shared.length !== ctx.length) {
            const scores = await layerTokenScores(ctx);
            shared = {
              length: ctx.length,
              prefix: selectChunks(scores, fit.capacity - ctx.window, chunkSize, o.leftover),
            };
          }
          const { prefix } = shared;
          const row = new Int32Array(prefix.length + ctx.window);
          row.set(prefix);
          for (let t = 0; t < ctx.window; t++) row[prefix.length + t] = ctx.length - ctx.window + t;
          const keep = Array.from({ length: model.numKvHeads }, () => row.slice());
          return note ? { keep, note } : { keep };
        },
      };
    },
  }),
});

/**
 * What {@link chunkkv} takes: `budget` (required), `window`, `chunkSize`, `reuse` and `leftover`
 * (defaults in {@link CHUNKKV_DEFAULTS}). Given values are checked against a budget in tokens:
 * `window < budget` and `chunkSize ≤ budget − window`.
 */
export type ChunkKVOptions = OptionsInput<typeof definition.options>;
/** ChunkKV with typed options. */
export const chunkkv = definition.create;
/** For the command line: options by name, unknown names rejected. */
export const createMethod = definition.createMethod;
