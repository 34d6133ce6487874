import { type Backend, IndexError, type LayerCache, OptionError, type Tensor } from '@kvsieve/core';
import { decoderLayer } from './block.js';
import type { ModelConfig } from './config.js';
import type { LayerWeights } from './weights.js';

/** One layer of a prefill: what it computes on and what it hands back. */
export interface LayerPass {
  readonly backend: Backend;
  readonly config: ModelConfig;
  readonly weights: LayerWeights;
  readonly invFreq: Tensor;
  /** The layer's cache: every token's keys and values are appended (n more rows reserved first). */
  readonly cache: LayerCache;
  /** The layer's input `[n, D]`. */
  readonly x: Tensor;
  /** Original positions of the n tokens. */
  readonly positions: Int32Array;
  /** Tokens per forward chunk. */
  readonly chunk: number;
  /** Queries of the last `window` tokens to capture (0: none). */
  readonly window: number;
  /** Also capture every token's queries. */
  readonly allQueries: boolean;
}

/**
 * One layer of a prefill over `x [n, D]` in chunks, appending every token's keys and values to the
 * cache. Also captures the queries of the last `window` tokens (`[window, H, d]`, null when 0) and,
 * with `allQueries`, of every token (`[n, H, d]`). The caller disposes `next`, `windowQ` and `allQ`.
 */
export function prefillLayer(p: LayerPass): { next: Tensor; windowQ: Tensor | null; allQ: Tensor | null } {
  const { backend: b, config: c, weights, invFreq, cache, x, positions, chunk, window, allQueries } = p;
  const { numHeads: H, headDim: d, hiddenSize: D } = c;
  const n = positions.length;
  const w = window;
  cache.reserve(n);
  const windowQ = w > 0 ? b.zeros([w, H, d], 'f32', 'window queries') : null;
  const allQ = allQueries ? b.zeros([n, H, d], 'f32', 'all queries') : null;
  const next = b.zeros([n, D], 'f32', 'hidden');
  try {
    for (let c0 = 0; c0 < n; c0 += chunk) {
      const c1 = Math.min(n, c0 + chunk);
      const rows = b.upload(
        Int32Array.from({ length: c1 - c0 }, (_, i) => c0 + i),
        [c1 - c0],
        'i32',
        'chunk rows',
      );
      const xc = b.gatherRows(x, rows);
      const { out, queries } = decoderLayer(b, c, weights, invFreq, cache, xc, positions.subarray(c0, c1));
      xc.dispose();
      b.scatterRows(next, rows, out);
      out.dispose();
      if (allQ) b.scatterRows(allQ, rows, queries);
      rows.dispose();
      if (windowQ && c1 > n - w) {
        const from = Math.max(c0, n - w);
        const src = b.upload(
          Int32Array.from({ length: c1 - from }, (_, i) => from - c0 + i),
          [c1 - from],
          'i32',
          'rows',
        );
        const dst = b.upload(
          Int32Array.from({ length: c1 - from }, (_, i) => from - (n - w) + i),
          [c1 - from],
          'i32',
          'rows',
        );
        const picked = b.gatherRows(queries, src);
        b.scatterRows(windowQ, dst, picked);
        picked.dispose();
        src.dispose();
        dst.dispose();
      }
      queries.dispose();
    }
  } catch (e) {
    next.dispose();
    windowQ?.dispose();
    allQ?.dispose();
    throw e;
  }
  return { next, windowQ, allQ };
}

/** Check a prompt before prefill: length, ids in the vocabulary, chunk size. */
export function checkPrompt(c: ModelConfig, ids: readonly number[], chunk: number, what: string): void {
  const N = ids.length;
  if (N === 0) throw new OptionError(`${what}: the prompt is empty; give at least one token`);
  if (N > c.maxPositions) {
    throw new OptionError(
      `${what}: the prompt has ${N} tokens but the model handles at most ${c.maxPositions} positions; shorten the prompt`,
    );
  }
  checkIds(c, ids, what);
  if (!Number.isInteger(chunk) || chunk < 1)
    throw new OptionError(`${what}: chunkSize must be a positive integer, got ${chunk}`);
}

export function checkIds(c: ModelConfig, ids: readonly number[], what: string): void {
  ids.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize) {
      throw new IndexError(`${what}: token ${i} is ${id}, outside the vocabulary [0, ${c.vocabSize})`);
    }
  });
}

export function checkPropagate(p: Int32Array, n: number, layer: number): Int32Array {
  const where = `layer ${layer} decision.propagate`;
  if (p.length === 0) throw new IndexError(`${where}: empty; keep at least the last prompt token`);
  for (let i = 0; i < p.length; i++) {
    if (p[i]! < 0 || p[i]! >= n)
      throw new IndexError(`${where}: index ${p[i]} is outside the layer's ${n} tokens`);
    if (i > 0 && p[i]! <= p[i - 1]!)
      throw new IndexError(`${where}: indices must be strictly ascending (${p[i - 1]} then ${p[i]})`);
  }
  if (p[p.length - 1] !== n - 1) {
    throw new IndexError(
      `${where}: must include the last token (${n - 1}), whose state gives the next-token logits`,
    );
  }
  return p;
}
