import {
  allEntries,
  DECODE_SLACK_DEFAULT,
  type DecodeContext,
  type DecodeDecision,
  decodeBudgetFull,
  type LayerContext,
  type MethodRun,
  type ModelInfo,
  type ReduceOp,
  reduceToKvHeads,
  type Scorer,
  scoreAllocateSelect,
  type Tensor,
} from '@kvsieve/core';
import { defineMethod, type OptionsInput, option, REDUCTIONS } from '@kvsieve/method-kit';
import { H2O_DEFAULTS, MissingInputError } from './h2o.js';

/** Defaults of H2O's decode form: the prefill form's window as the recent span, core's decode slack. */
export const H2O_DECODE_DEFAULTS = {
  /** 32 newest entries per head, never evicted (the prefill window). */
  recent: H2O_DEFAULTS.window,
  /** 16 entries of growth past the budget between eviction batches. */
  slack: DECODE_SLACK_DEFAULT,
  /** Prefill column sums averaged over the query heads of a GQA group. */
  gqaReduce: H2O_DEFAULTS.gqaReduce,
} as const;

/** One layer's running scores, laid out like the cache rows they describe. */
interface LayerScores {
  scores: Tensor; // f32 [rows]
  offsets: Int32Array;
  lengths: Int32Array;
}

/**
 * H2O, decode form: prefill as {@link h2o} (budget, `recent` as the window), then every generated
 * token adds the attention its queries put on each kept entry (summed over the query heads of the
 * entry's KV head) to that entry's running score. When a head reaches `budget + slack` entries, each
 * head over budget keeps its `recent` newest entries and the `budget − recent` older ones with the
 * largest running scores. Scores start from the prefill column sums of the kept entries (the same
 * quantity: attention received from every prompt query, summed over the group), so heavy hitters
 * found in the prompt keep their lead. Scores accumulate on the device; they are read back once per
 * eviction batch, i.e. every `slack` tokens.
 */
export const decodeDefinition = defineMethod({
  name: 'h2o-decode',
  summary:
    'H2O as the paper runs it: prefill as h2o, then every generated token adds its attention to each kept entry, and heads over budget evict their lowest-scoring older entries.',
  options: {
    /**
     * Entries kept per KV head (an integer ≥ 1, required; not a ratio): the prefill budget, and what
     * each head is evicted back to during decode.
     */
    budget: option.integer({
      required: true,
      min: 1,
      doc: 'Entries kept per KV head: the prefill budget, and the budget evicted back to during decode.',
    }),
    /**
     * The newest entries of each head, never evicted: the prefill window and the paper's recent
     * window. Default 32; given, smaller than `budget`; defaulted, halved to fit it.
     */
    recent: option.reserved({
      default: H2O_DECODE_DEFAULTS.recent,
      min: 1,
      doc: 'Most recent entries of each head, never evicted.',
    }),
    /**
     * Entries a head may grow past `budget` before an eviction batch (≥ 1, default 16): the runtime
     * reserves `budget + slack` rows per head, and scores are read back once per batch. 1 is the
     * paper's evict-every-token behaviour, at one device read-back per token.
     */
    slack: option.integer({
      default: H2O_DECODE_DEFAULTS.slack,
      min: 1,
      doc: 'Entries a head may grow beyond the budget before an eviction batch.',
    }),
    /**
     * How the query heads of a GQA group combine for the prefill selection: `'mean'` (default),
     * `'max'` or `'sum'`. Decode scores always sum the group.
     */
    gqaReduce: option.choice(REDUCTIONS, {
      default: H2O_DECODE_DEFAULTS.gqaReduce,
      doc: 'How the query heads of a GQA group combine for the prefill selection.',
    }),
  },
  build: (o) => ({
    /**
     * Starts a run for one prompt and its generation: the run holds running scores on the device
     * (one f32 per cached entry) until its `dispose`. The runtime must honour `observe.allQueries`
     * and `observe.decodeAttention`, or the run throws {@link MissingInputError}.
     */
    begin: (model: ModelInfo, prompt: { readonly length: number }): MethodRun =>
      new H2ODecodeRun(model, o.budget, o.recent, o.slack, o.gqaReduce, prompt.length),
  }),
});

/**
 * What {@link h2oDecode} takes: `budget` (required, entries per KV head), `recent`, `slack` and
 * `gqaReduce` (defaults in {@link H2O_DECODE_DEFAULTS}).
 */
export type H2ODecodeOptions = OptionsInput<typeof decodeDefinition.options>;
/** H2O's decode form with typed options. */
export const h2oDecode = decodeDefinition.create;

function requireAllQueries(ctx: LayerContext): Tensor {
  if (!ctx.allQueries) {
    throw new MissingInputError(
      `h2o decode layer ${ctx.layer}: the context has no allQueries; the runtime must honour observe.allQueries = true`,
    );
  }
  return ctx.allQueries;
}

class H2ODecodeRun implements MethodRun {
  readonly observe: MethodRun['observe'];
  private readonly prefill: MethodRun;
  /** Column sums the prefill scorer computed, per layer, reused to start the running scores. */
  private readonly columnSums = new Map<number, Tensor>();
  private readonly layers: (LayerScores | undefined)[] = [];

  private readonly kvHeads: number;

  constructor(
    model: ModelInfo,
    private readonly budget: number,
    private readonly recent: number,
    private readonly slack: number,
    gqaReduce: ReduceOp,
    promptLength: number,
  ) {
    this.kvHeads = model.numKvHeads;
    const sums = this.columnSums;
    const scorer: Scorer = {
      name: 'heavy-hitter',
      needsAllQueries: true,
      score(ctx) {
        const cols = ctx.backend.attentionColumnSums(requireAllQueries(ctx), ctx.keys);
        sums.set(ctx.layer, cols);
        return reduceToKvHeads(ctx.backend, cols, ctx.keys.shape[0]!, ctx.window, gqaReduce);
      },
    };
    this.prefill = scoreAllocateSelect({ name: 'h2o-decode', budget, window: recent, scorer }).begin(model, {
      length: promptLength,
    });
    this.observe = { ...this.prefill.observe, decodeAttention: true, decodeCapacity: budget + slack };
  }

  async afterLayer(ctx: LayerContext) {
    const b = ctx.backend;
    try {
      const decision = await this.prefill.afterLayer(ctx);
      const cols = this.columnSums.get(ctx.layer) ?? b.attentionColumnSums(requireAllQueries(ctx), ctx.keys);
      this.columnSums.set(ctx.layer, cols);
      const H = cols.shape[0]!;
      const L = ctx.length;
      const perKv = b.reduceGroups(cols, H / this.kvHeads, 'sum');
      const keep =
        decision.keep === 'all' ? Array.from({ length: this.kvHeads }, () => allEntries(L)) : decision.keep;
      // The runtime stores the kept entries tight, head after head, until decode reserves its rows.
      const lengths = Int32Array.from(keep, (sel) => sel.length);
      const offsets = new Int32Array(this.kvHeads);
      const rows: number[] = [];
      keep.forEach((sel, h) => {
        offsets[h] = rows.length;
        for (const i of sel) rows.push(h * L + i);
      });
      const idx = b.upload(rows, [rows.length], 'i32', 'kept entries');
      const scores = b.gatherRows(perKv.reshape([this.kvHeads * L]), idx);
      idx.dispose();
      perKv.dispose();
      this.layers[ctx.layer]?.scores.dispose();
      this.layers[ctx.layer] = { scores, offsets, lengths };
      return decision;
    } finally {
      this.columnSums.get(ctx.layer)?.dispose();
      this.columnSums.delete(ctx.layer);
    }
  }

  async afterDecodeStep(ctx: DecodeContext): Promise<DecodeDecision | undefined> {
    const attention = ctx.attention;
    if (!attention) {
      throw new MissingInputError(
        'h2o decode: the decode step has no attention; the runtime must honour observe.decodeAttention = true',
      );
    }
    const b = ctx.backend;
    ctx.lengths.forEach((lengths, l) => {
      const st = this.layers[l];
      if (!st) {
        throw new MissingInputError(
          `h2o decode: layer ${l} had no prefill; run prefill with this method first`,
        );
      }
      const mass = attention[l]!;
      this.realign(st, b, ctx.offsets[l]!, mass.shape[0]!);
      const sum = b.add(st.scores, mass);
      st.scores.dispose();
      st.scores = sum;
      st.lengths = Int32Array.from(lengths);
    });
    if (!decodeBudgetFull(ctx, this.budget, this.slack)) return undefined;
    const decision: (Int32Array[] | null)[] = [];
    for (const st of this.layers as LayerScores[]) {
      if (!st.lengths.some((n) => n > this.budget)) {
        decision.push(null);
        continue;
      }
      const scores = await st.scores.readF32();
      const keep = Array.from(st.lengths, (n, h) => this.pick(scores, st.offsets[h]!, n));
      this.move(st, b, keep);
      decision.push(keep);
    }
    return decision;
  }

  /** Release the running scores. */
  dispose(): void {
    for (const st of this.layers) st?.scores.dispose();
    this.layers.length = 0;
    for (const t of this.columnSums.values()) t.dispose();
    this.columnSums.clear();
  }

  /** Newest `recent` entries, plus the older ones with the largest scores (ties to the older entry). */
  private pick(scores: Float32Array, offset: number, n: number): Int32Array {
    if (n <= this.budget) return allEntries(n);
    const older = n - this.recent;
    const ranked = Array.from({ length: older }, (_, i) => i).sort(
      (a, b) => scores[offset + b]! - scores[offset + a]! || a - b,
    );
    const kept = ranked.slice(0, this.budget - this.recent).sort((a, b) => a - b);
    for (let i = older; i < n; i++) kept.push(i);
    return Int32Array.from(kept);
  }

  /** Follow the cache when it moved its rows (a reallocation changes the offsets). */
  private realign(st: LayerScores, b: DecodeContext['backend'], offsets: Int32Array, rows: number): void {
    if (st.scores.shape[0] === rows && st.offsets.every((o, h) => o === offsets[h])) return;
    const keep = Array.from(st.lengths, (n) => allEntries(n));
    this.remap(st, b, keep, offsets, rows);
  }

  /** Move the scores as the runtime's in-place compaction moves the rows: `keep[h][j]` → entry j. */
  private move(st: LayerScores, b: DecodeContext['backend'], keep: Int32Array[]): void {
    this.remap(st, b, keep, st.offsets, st.scores.shape[0]!);
  }

  private remap(
    st: LayerScores,
    b: DecodeContext['backend'],
    keep: Int32Array[],
    offsets: Int32Array,
    rows: number,
  ): void {
    const from: number[] = [];
    const to: number[] = [];
    keep.forEach((sel, h) => {
      sel.forEach((i, j) => {
        from.push(st.offsets[h]! + i);
        to.push(offsets[h]! + j);
      });
    });
    const next = b.zeros([rows], 'f32', 'h2o running scores');
    if (from.length > 0) {
      const fromT = b.upload(from, [from.length], 'i32', 'rows');
      const toT = b.upload(to, [to.length], 'i32', 'rows');
      const moved = b.gatherRows(st.scores, fromT);
      b.scatterRows(next, toT, moved);
      moved.dispose();
      fromT.dispose();
      toT.dispose();
    }
    st.scores.dispose();
    st.scores = next;
    st.offsets = Int32Array.from(offsets);
    st.lengths = Int32Array.from(keep, (sel) => sel.length);
  }
}
