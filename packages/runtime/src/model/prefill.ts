import {
  type Backend,
  createLayerContext,
  KVCache,
  type KVDType,
  type LayerCache,
  type LayerDecision,
  type MethodRun,
  OptionError,
  type Tensor,
} from '@kvsieve/core';
import { SharedPrefillError } from '../errors.js';
import { checkPrompt, checkPropagate, prefillLayer } from './layer-pass.js';
import { type ModelParts, readLogits } from './parts.js';

/** What prefill did to one layer's cache. */
export interface LayerStats {
  /** Layer index, 0-based. */
  readonly layer: number;
  /** Tokens the layer computed on (fewer than the prompt after structural propagation). */
  readonly tokens: number;
  /** Entries kept per KV head after the method's decision. */
  readonly kept: Int32Array;
  /** Tokens passed on to deeper layers, when the method propagated fewer. */
  readonly propagated?: number;
  /**
   * The method's note for this layer (what it kept and why, e.g. a window shrunk to fit), when it gave one.
   */
  readonly note?: string;
}

/** One cache the prefill fills: a method's run, or null for the full cache. */
export interface PrefillTrack {
  /** For messages: the method's name, or "full cache". */
  readonly name: string;
  readonly run: MethodRun | null;
}

export interface PrefillRequest {
  readonly tracks: readonly PrefillTrack[];
  /** Prompt tokens per forward chunk. */
  readonly chunkSize: number;
  /**
   * With several tracks, a decision that propagates fewer tokens to deeper layers cannot share the
   * pass (its deeper layers would compute something else): 'throw' a SharedPrefillError, or 'skip'
   * that track (its cache and run are disposed at once). With one track the pass follows it.
   */
  readonly onPropagate: 'throw' | 'skip';
  /** Called after each layer (for progress bars). */
  readonly onLayer?: (layer: number, numLayers: number) => void;
  /** The caller's name for messages ("prefill", "startShared"). */
  readonly what: string;
  /** How the caches store keys and values (default f32). */
  readonly kvDtype?: KVDType;
}

/** A track's share of the prefill. */
export interface TrackResult {
  readonly cache: KVCache;
  readonly layers: readonly LayerStats[];
}

export interface PrefillOutcome {
  /** One per track, in order; null where a track was skipped for propagating. */
  readonly results: readonly (TrackResult | null)[];
  readonly skipped: readonly { readonly index: number; readonly name: string; readonly layer: number }[];
  /** Next-token logits after the last prompt token (the same for every track). */
  readonly logits: Float32Array;
}

interface Live {
  readonly index: number;
  readonly track: PrefillTrack;
  readonly cache: KVCache;
  readonly stats: LayerStats[];
}

/**
 * The one prefill engine: runs the prompt layer by layer, in chunks, and serves every track from
 * that one forward pass. After each layer every track's run sees a context made of the layer's
 * complete keys and the last `observe.window` of its queries, and its decision is applied at once,
 * so only compacted layers stay in memory. Sharing is sound because, without propagation, a
 * layer's hidden states are computed with the layer's full attention before any method compacts
 * its cache. One track owns the pass's own cache (the only track, or the first full-cache track);
 * the others get copies of each layer, compacted as soon as it is done; the full layer is released
 * once every track has its share. A single track may propagate fewer tokens to deeper layers (the
 * pass follows it). The engine owns the tracks' runs from the call on: on any error every cache
 * built so far is disposed and every run is ended.
 */
export async function runPrefill(
  m: ModelParts,
  ids: readonly number[],
  req: PrefillRequest,
): Promise<PrefillOutcome> {
  try {
    checkPrompt(m.config, ids, req.chunkSize, req.what);
    if (req.tracks.length === 0) {
      throw new OptionError(`${req.what}: no methods; give at least one (null for the full cache)`);
    }
  } catch (e) {
    for (const t of req.tracks) t.run?.dispose?.();
    throw e;
  }
  const N = ids.length;
  const b = m.backend;
  const c = m.config;
  const shape = {
    numLayers: c.numLayers,
    kvHeads: c.numKvHeads,
    headDim: c.headDim,
    dtype: req.kvDtype ?? 'f32',
  };
  const single = req.tracks.length === 1;
  const ownerIndex = single ? 0 : req.tracks.findIndex((t) => t.run === null);
  const pass = new KVCache(b, shape);
  const live: Live[] = [];
  const skipped: { index: number; name: string; layer: number }[] = [];
  const end = (l: Live) => {
    if (l.cache !== pass) l.cache.dispose();
    l.track.run?.dispose?.();
  };
  let x: Tensor | null = null;
  try {
    req.tracks.forEach((track, index) => {
      live.push({ index, track, cache: index === ownerIndex ? pass : new KVCache(b, shape), stats: [] });
    });
    const ids32 = b.upload(Int32Array.from(ids), [N], 'i32', 'prompt ids');
    x = b.embedding(m.weights.embed, ids32);
    ids32.dispose();
    let positions = Int32Array.from({ length: N }, (_, i) => i);
    for (let l = 0; l < c.numLayers; l++) {
      const n = positions.length;
      const layerCache = pass.layer(l);
      const windows = live.map((t) => Math.min(t.track.run?.observe.window ?? 0, n));
      const W = Math.max(0, ...windows);
      const wantAll = live.some((t) => t.track.run?.observe.allQueries === true);
      const { next, windowQ, allQ } = prefillLayer({
        backend: b,
        config: c,
        weights: m.weights.layers[l]!,
        invFreq: m.invFreq,
        cache: layerCache,
        x,
        positions,
        chunk: req.chunkSize,
        window: W,
        allQueries: wantAll,
      });
      x.dispose();
      x = next;
      const view = new LayerView(b, layerCache, positions);
      let propagate: Int32Array | null = null;
      try {
        // Every run decides on the complete layer before any cache is compacted.
        const decisions: LayerDecision[] = [];
        for (const [i, t] of live.entries()) {
          const run = t.track.run;
          decisions.push(
            run
              ? await decide(m, run, l, view, windowQ, W, windows[i]!, run.observe.allQueries ? allQ : null)
              : { keep: 'all' },
          );
        }
        for (let i = 0; i < live.length; i++) {
          const d = decisions[i]!;
          if (!d.propagate || single) continue;
          const p = checkPropagate(d.propagate, n, l);
          if (p.length === n) continue;
          const t = live[i]!;
          if (req.onPropagate === 'throw') {
            throw new SharedPrefillError(
              `${req.what}: method ${t.index} (${t.track.name}) propagates ${p.length} of ${n} tokens past layer ${l}, so its deeper layers differ from the shared pass; run it with Model.start alone, or pass onPropagate: 'skip'`,
            );
          }
          skipped.push({ index: t.index, name: t.track.name, layer: l });
          live.splice(i, 1);
          decisions.splice(i, 1);
          i--;
          end(t);
        }
        // Copies first, then the owner compacts the pass's own layer in place.
        const order = [...live.keys()].sort(
          (a, z) => Number(live[a]!.cache === pass) - Number(live[z]!.cache === pass),
        );
        for (const i of order) {
          const t = live[i]!;
          const d = decisions[i]!;
          const own = t.cache.layer(l);
          if (t.cache !== pass) view.copyInto(own);
          if (d.keep !== 'all') own.compact(d.keep);
          let propagated: number | undefined;
          if (d.propagate) {
            const p = checkPropagate(d.propagate, n, l);
            propagated = p.length;
            if (single) propagate = p;
          }
          t.stats.push({
            layer: l,
            tokens: n,
            kept: own.lengths(),
            ...(propagated !== undefined ? { propagated } : {}),
            ...(d.note ? { note: d.note } : {}),
          });
        }
      } finally {
        view.dispose();
        windowQ?.dispose();
        allQ?.dispose();
      }
      if (!live.some((t) => t.cache === pass)) layerCache.dispose();
      if (propagate) {
        const p = propagate;
        const idx = b.upload(p, [p.length], 'i32', 'propagated rows');
        const kept = b.gatherRows(x, idx);
        idx.dispose();
        x.dispose();
        x = kept;
        positions = Int32Array.from(p, (i) => positions[i]!);
      }
      await b.sync();
      req.onLayer?.(l, c.numLayers);
    }
    const logits = await readLogits(m, x, positions.length - 1, N - 1);
    if (!live.some((t) => t.cache === pass)) pass.dispose();
    const results: (TrackResult | null)[] = req.tracks.map(() => null);
    for (const t of live) results[t.index] = { cache: t.cache, layers: t.stats };
    return { results, skipped, logits };
  } catch (e) {
    for (const t of live) end(t);
    pass.dispose();
    throw e;
  } finally {
    x?.dispose();
  }
}

/**
 * One complete layer, as the runs read it: head-major keys for their contexts and token-major
 * keys and values for the copies, each made once and only when first needed.
 */
class LayerView {
  private headKeys: { tensor: Tensor; copied: boolean } | null = null;
  private tokenMajor: { k: Tensor; v: Tensor } | null = null;

  constructor(
    private readonly b: Backend,
    private readonly cache: LayerCache,
    readonly positions: Int32Array,
  ) {}

  /** `[kvHeads, n, d]` f32 (methods read f32 keys whatever the cache stores), owned by the view. */
  keys(): Tensor {
    if (!this.headKeys) {
      const stored = this.cache.headMajor('keys');
      if (stored.tensor.dtype === 'f32') this.headKeys = stored;
      else {
        this.headKeys = { tensor: this.b.cast(stored.tensor, 'f32'), copied: true };
        if (stored.copied) stored.tensor.dispose();
      }
    }
    return this.headKeys.tensor;
  }

  /**
   * Fill an empty layer cache with this layer's entries. The copy is laid out as the pass lays out
   * its own layer (one reservation of n rows per head, appended in order), so compacting it gives
   * the same tensors, offsets and byte counts as compacting the original.
   */
  copyInto(dst: LayerCache): void {
    if (!this.tokenMajor) {
      // In the cache's own dtype: a copy of an f16 layer stays f16, bit for bit.
      const stored = this.cache.headMajor('keys');
      const keys = stored.tensor;
      const values = this.cache.headMajor('values');
      try {
        const k = this.b.transpose01(keys);
        try {
          this.tokenMajor = { k, v: this.b.transpose01(values.tensor) };
        } catch (e) {
          k.dispose();
          throw e;
        }
      } finally {
        if (values.copied) values.tensor.dispose();
        if (stored.copied) keys.dispose();
      }
    }
    dst.reserve(this.positions.length);
    dst.append(this.tokenMajor.k, this.tokenMajor.v, this.positions);
  }

  dispose(): void {
    if (this.headKeys?.copied) this.headKeys.tensor.dispose();
    this.headKeys = null;
    this.tokenMajor?.k.dispose();
    this.tokenMajor?.v.dispose();
    this.tokenMajor = null;
  }
}

/** A run's decision for one layer, from its context: the layer's keys and its last `w` queries. */
async function decide(
  m: ModelParts,
  run: MethodRun,
  layer: number,
  view: LayerView,
  windowQ: Tensor | null,
  captured: number,
  w: number,
  allQ: Tensor | null,
): Promise<LayerDecision> {
  const b = m.backend;
  let mine: Tensor | null = w > 0 ? windowQ : null;
  if (mine && w < captured) {
    const rows = b.upload(
      Int32Array.from({ length: w }, (_, i) => captured - w + i),
      [w],
      'i32',
      'window rows',
    );
    mine = b.gatherRows(mine, rows);
    rows.dispose();
  }
  let windowQueries: Tensor | null = null;
  let allQueries: Tensor | null = null;
  try {
    windowQueries = mine ? b.transpose01(mine) : null;
    allQueries = allQ ? b.transpose01(allQ) : null;
    const ctx = createLayerContext({
      backend: b,
      model: m.info,
      layer,
      keys: view.keys(),
      ...(windowQueries ? { windowQueries } : {}),
      ...(allQueries ? { allQueries } : {}),
      positions: view.positions,
    });
    try {
      return await run.afterLayer(ctx);
    } finally {
      ctx.release();
    }
  } finally {
    if (mine && mine !== windowQ) mine.dispose();
    windowQueries?.dispose();
    allQueries?.dispose();
  }
}
