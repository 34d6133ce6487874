import {
  type Budget,
  type CompressionMethod,
  describeBudget,
  type LayerContext,
  type LayerDecision,
  METHOD_SPEC,
  type MethodRun,
  OptionError,
} from '@kvsieve/core';
import {
  budgetTokens,
  checkBudgetForPrompt,
  type RawOptions,
  readBudget,
  readChoice,
  readInt,
  readWindow,
  rejectUnknownOptions,
} from '@kvsieve/method-kit';

/** What to do with the `(budget − window) mod chunkSize` tokens that no whole chunk fills. */
export type ChunkLeftover = 'tokens' | 'unused';
export const CHUNK_LEFTOVERS: readonly ChunkLeftover[] = ['tokens', 'unused'];

export interface ChunkKVOptions {
  /** Tokens kept per KV head, window included: a count, `{ tokens }` or `{ ratio }` of the prompt. */
  readonly budget: Budget;
  /** Observation window `w` (last prompt tokens, always kept, never scored). Default 32. */
  readonly window?: number;
  /** Tokens per chunk `c`, 1 ≤ c ≤ budget − window. Default 10, as the paper. */
  readonly chunkSize?: number;
  /**
   * Layers per index-sharing group: the first layer of each group scores and selects, the next
   * `reuse − 1` layers keep the same positions without scoring. Default 1 (no reuse).
   */
  readonly reuse?: number;
  /** 'tokens' (default): fill the leftover budget with the best single tokens outside the kept chunks. */
  readonly leftover?: ChunkLeftover;
}

export const CHUNKKV_DEFAULTS = { window: 32, chunkSize: 10, reuse: 1, leftover: 'tokens' } as const;
export const CHUNKKV_OPTION_NAMES = ['budget', 'window', 'chunkSize', 'reuse', 'leftover'] as const;

interface Resolved {
  readonly budget: Budget;
  readonly window: number;
  readonly chunkSize: number;
  readonly reuse: number;
  readonly leftover: ChunkLeftover;
}

function chunkRangeError(chunkSize: number, budget: Budget, capacity: number, window: number): OptionError {
  return new OptionError(
    `chunkkv: option "chunkSize" must be an integer ≥ 1 and ≤ budget − window = ${capacity} − ${window} = ${capacity - window} (budget ${describeBudget(budget)}), got ${chunkSize}; lower chunkSize or raise the budget`,
  );
}

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

export interface ChunkKVMethod extends CompressionMethod {
  readonly budget: Budget;
  readonly window: number;
}

/**
 * ChunkKV: contiguous chunks of `chunkSize` prefix tokens are the unit of selection; a layer keeps
 * its top `⌊(budget − window) / chunkSize⌋` chunks by summed window score, at the same positions in
 * every KV head, plus the window. With `reuse > 1`, layers share the positions of their group's first layer.
 */
export function chunkkv(options: ChunkKVOptions): ChunkKVMethod {
  const raw = options as unknown as RawOptions;
  if (raw === null || typeof raw !== 'object') {
    throw new OptionError(`chunkkv: options must be an object, got ${String(raw)}`);
  }
  const budget = readBudget('chunkkv', raw.budget);
  const window = readWindow('chunkkv', raw.window, CHUNKKV_DEFAULTS.window, budget);
  const tokens = budgetTokens(budget);
  const chunkSize = readInt('chunkkv', 'chunkSize', raw.chunkSize, CHUNKKV_DEFAULTS.chunkSize, {
    min: 1,
    ...(tokens !== undefined
      ? { max: tokens - window, hint: `(budget − window = ${tokens} − ${window})` }
      : {}),
  });
  const reuse = readInt('chunkkv', 'reuse', raw.reuse, CHUNKKV_DEFAULTS.reuse, { min: 1 });
  const leftover = readChoice(
    'chunkkv',
    'leftover',
    raw.leftover,
    CHUNKKV_DEFAULTS.leftover,
    CHUNK_LEFTOVERS,
  );
  const o: Resolved = { budget, window, chunkSize, reuse, leftover };
  return {
    spec: METHOD_SPEC,
    name: 'chunkkv',
    options: Object.freeze({ ...o }),
    budget,
    window,
    begin(model, prompt): MethodRun {
      const capacity = checkBudgetForPrompt('chunkkv', budget, window, prompt.length);
      const compresses = prompt.length > capacity;
      if (compresses && chunkSize > capacity - window)
        throw chunkRangeError(chunkSize, budget, capacity, window);
      // Positions chosen by the first layer of the current reuse group, with the length they index.
      let shared: { length: number; prefix: Int32Array } | null = null;
      return {
        observe: { window },
        async afterLayer(ctx): Promise<LayerDecision> {
          if (ctx.length <= capacity)
            return { keep: 'all', note: `${ctx.length} tokens fit the budget: nothing evicted` };
          const first = ctx.layer % reuse === 0;
          // A reuse layer holding a different token count (structural propagation) cannot index
          // with the group's positions, so it scores for itself.
          if (first || shared === null || shared.length !== ctx.length) {
            const scores = await layerTokenScores(ctx);
            shared = {
              length: ctx.length,
              prefix: selectChunks(scores, capacity - ctx.window, chunkSize, leftover),
            };
          }
          const { prefix } = shared;
          const row = new Int32Array(prefix.length + ctx.window);
          row.set(prefix);
          for (let t = 0; t < ctx.window; t++) row[prefix.length + t] = ctx.length - ctx.window + t;
          return { keep: Array.from({ length: model.numKvHeads }, () => row.slice()) };
        },
      };
    },
  };
}

/** For the command line: options by name, unknown names rejected. */
export function createMethod(options: Record<string, unknown>): ChunkKVMethod {
  rejectUnknownOptions('chunkkv', options, CHUNKKV_OPTION_NAMES);
  return chunkkv(options as unknown as ChunkKVOptions);
}
