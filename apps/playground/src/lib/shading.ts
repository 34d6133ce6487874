// What was kept, as numbers the views draw: per prompt position, the fraction of (layer, KV head)
// pairs that kept it; per layer, the fraction of its heads; kept counts; where two outputs part.

/** Kept original positions: [layer][kvHead] → positions. */
export type KeptSets = readonly (readonly ArrayLike<number>[])[];

/** Per position, the fraction of (layer, KV head) pairs whose cache still holds it. */
export function keptFraction(kept: KeptSets, promptLength: number): Float32Array {
  const counts = new Float32Array(promptLength);
  let pairs = 0;
  for (const layer of kept) {
    for (const head of layer) {
      pairs++;
      for (let i = 0; i < head.length; i++) {
        const p = head[i]!;
        if (p >= 0 && p < promptLength) counts[p]! += 1;
      }
    }
  }
  if (pairs > 0) for (let i = 0; i < promptLength; i++) counts[i]! /= pairs;
  return counts;
}

/** Layer × position: the fraction of the layer's KV heads keeping each position. */
export function layerHeatmap(kept: KeptSets, promptLength: number): Float32Array[] {
  return kept.map((layer) => keptFraction([layer], promptLength));
}

/** Entries kept per layer (summed over KV heads) and per head. */
export function keptCounts(kept: KeptSets): { perLayer: number[]; perHead: number[][] } {
  const perHead = kept.map((layer) => layer.map((h) => h.length));
  return { perLayer: perHead.map((h) => h.reduce((a, b) => a + b, 0)), perHead };
}

/** Set of positions one head kept, or the union over a layer's heads with `head` null. */
export function keptSet(kept: KeptSets, layer: number, head: number | null): Set<number> {
  const heads = kept[layer] ?? [];
  const out = new Set<number>();
  for (const [h, positions] of heads.entries()) {
    if (head !== null && h !== head) continue;
    for (let i = 0; i < positions.length; i++) out.add(positions[i]!);
  }
  return out;
}

/**
 * Background colour for a kept fraction in [0, 1]: white (dropped everywhere) to a saturated
 * blue (kept by every pair), in steps of 1/16 so equal fractions look equal.
 */
export function shade(fraction: number): string {
  const f = Math.round(Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0)) * 16) / 16;
  const lightness = Math.round(98 - f * 53);
  return `hsl(215 80% ${lightness}%)`;
}

/** Index of the first token where two outputs differ; -1 when equal. */
export function firstDifference(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** Bytes as people read them (KiB/MiB, binary). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(2)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/**
 * Observation-window scores for shading: each row (one layer's KV head) scaled by its largest
 * score, then averaged over rows; NaN where no row scored the position (the window itself, or
 * tokens a layer did not compute on).
 */
export function scoreShading(rows: readonly Float32Array[], promptLength: number): Float32Array {
  const sum = new Float32Array(promptLength);
  const count = new Float32Array(promptLength);
  for (const row of rows) {
    let max = 0;
    for (const v of row) if (Number.isFinite(v) && v > max) max = v;
    if (max <= 0) continue;
    for (let i = 0; i < promptLength; i++) {
      const v = row[i]!;
      if (Number.isFinite(v)) {
        sum[i]! += Math.max(0, v) / max;
        count[i]! += 1;
      }
    }
  }
  return sum.map((s, i) => (count[i]! > 0 ? s / count[i]! : Number.NaN));
}
