import type { FidelityReport } from './fidelity.js';

function bytes(n: number): string {
  return n.toLocaleString('en-US');
}

function kl(v: number): string {
  if (v === 0) return '0';
  return v < 1e-3 ? v.toExponential(2) : v.toFixed(4);
}

/**
 * A markdown table of a fidelity report: one row per candidate, with kept entries per layer
 * (mean over KV heads, layer 0 first), top-1 agreement, mean and max KL(full ‖ compressed) in nats
 * and the cache's used bytes against the full cache's. A first row gives the full cache.
 */
export function fidelityTable(report: FidelityReport): string {
  const ref = report.reference.cache;
  const heads = ref.keptPerHead[0]?.length ?? 1;
  const perLayer = (kept: readonly number[]) =>
    kept.map((k) => (Number.isInteger(k / heads) ? String(k / heads) : (k / heads).toFixed(1))).join('/');
  const head = [
    '| method | budget | params | kept per layer (mean per KV head) | top-1 agreement | mean KL (nats) | max KL | cache bytes kept / full |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    `| full cache | 100% | – | ${perLayer(ref.keptPerLayer)} | – | – | – | ${bytes(ref.used)} / ${bytes(ref.used)} (100%) |`,
  ];
  const rows = report.results.map((r) => {
    const pct = `${(100 * r.usedRatio).toFixed(1)}%`;
    return `| ${r.name} | ${r.budget} | ${r.params} | ${perLayer(r.cache.keptPerLayer)} | ${r.agreeing}/${report.tokens} (${(100 * r.top1Agreement).toFixed(1)}%) | ${kl(r.meanKl)} | ${kl(r.maxKl)} | ${bytes(r.cache.used)} / ${bytes(ref.used)} (${pct}) |`;
  });
  return [...head, ...rows].join('\n');
}
