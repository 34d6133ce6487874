import type { ResultRow } from './results.js';

/** Means over a group of rows. */
export interface Aggregate {
  /** Rows averaged. */
  readonly n: number;
  /** Mean score in percent. */
  readonly score: number;
  /** Mean of used bytes / full-cache bytes, in percent. */
  readonly kept: number;
  /** Mean top-1 agreement with the full cache over compared steps (null for the full cache). */
  readonly top1: number | null;
  /** Mean KL(full ‖ method) per step, nats. */
  readonly kl: number | null;
  /** Fraction of predictions equal to the full cache's. */
  readonly same: number | null;
}

/**
 * Means of `rows` (scores and kept bytes in percent; fidelity over the rows that have it). `rows`
 * must not be empty: the means of no rows are NaN.
 */
export function aggregate(rows: readonly ResultRow[]): Aggregate {
  const mean = (f: (r: ResultRow) => number) => rows.reduce((a, r) => a + f(r), 0) / rows.length;
  const withF = rows.filter((r) => r.fidelity !== null);
  return {
    n: rows.length,
    score: 100 * mean((r) => r.score),
    kept: 100 * mean((r) => r.bytes.used / r.bytes.full),
    top1: withF.length ? withF.reduce((a, r) => a + r.fidelity!.top1, 0) / withF.length : null,
    kl: withF.length ? withF.reduce((a, r) => a + r.fidelity!.kl, 0) / withF.length : null,
    same: withF.length ? withF.filter((r) => r.sameAsFull).length / withF.length : null,
  };
}

/** Rows grouped by a key, groups in first-seen order. */
export function groupBy<K>(
  rows: readonly ResultRow[],
  key: (r: ResultRow) => K,
): Map<string, { key: K; rows: ResultRow[] }> {
  const out = new Map<string, { key: K; rows: ResultRow[] }>();
  for (const r of rows) {
    const k = key(r);
    const id = JSON.stringify(k);
    let g = out.get(id);
    if (!g) {
      g = { key: k, rows: [] };
      out.set(id, g);
    }
    g.rows.push(r);
  }
  return out;
}

/** `snapkv 20%`, or `full` for the reference. */
export function seriesLabel(r: Pick<ResultRow, 'method' | 'budget'>): string {
  return r.method === 'full' ? 'full' : `${r.method} ${r.budget}`;
}
