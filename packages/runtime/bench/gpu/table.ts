import { type BenchRow, fmt, mib } from './run.js';

/** A row with what follows from its measurements and the copy kernel's bandwidth. */
export interface DerivedRow extends BenchRow {
  /** Bytes one decode token reads at least: resident weights + KV cache held. */
  readonly bytesPerToken?: number;
  /** bytesPerToken × decode tok/s, in GB/s (10^9 bytes). */
  readonly achievedGbPerSecond?: number;
  /** achievedGbPerSecond as a percentage of the copy kernel's. */
  readonly percentOfCopy?: number;
  /** Compressed rows: decode tok/s over the full cache's, same shape, weights and context. */
  readonly decodeVsFull?: number;
  /** Full-cache rows: our decode tok/s over llama.cpp's. */
  readonly decodeVsLlamaCpp?: number;
}

export function derive(rows: readonly BenchRow[], copyGbPerSecond: number): DerivedRow[] {
  return rows.map((r) => {
    if (r.error || r.decodeTokensPerSecond === undefined) return r;
    const bytesPerToken = r.weightBytes! + r.kvBytes!;
    const achievedGbPerSecond = (bytesPerToken * r.decodeTokensPerSecond) / 1e9;
    const full = rows.find(
      (f) => f.cache === 'full' && f.shape === r.shape && f.weights === r.weights && f.context === r.context,
    );
    return {
      ...r,
      bytesPerToken,
      achievedGbPerSecond,
      percentOfCopy: (100 * achievedGbPerSecond) / copyGbPerSecond,
      ...(r.cache !== 'full' && full?.decodeTokensPerSecond
        ? { decodeVsFull: r.decodeTokensPerSecond / full.decodeTokensPerSecond }
        : {}),
      ...(r.llamaCpp ? { decodeVsLlamaCpp: r.decodeTokensPerSecond / r.llamaCpp.decodeTokensPerSecond } : {}),
    };
  });
}

const HEADER = [
  'shape',
  'weights',
  'context',
  'cache',
  'prefill tok/s',
  'decode tok/s',
  'MiB read / token',
  'achieved GB/s',
  '% of copy',
  'decode vs full',
  'llama.cpp prefill / decode tok/s',
  'decode vs llama.cpp',
];
const RIGHT = new Set([2, 4, 5, 6, 7, 8, 9, 10, 11]);

const cell = (s: string) => s.replace(/\|/g, '\\|');
const times = (x: number | undefined) => (x === undefined ? '' : `${x.toFixed(2)}×`);

/** The results as a markdown table, one line per row (errors in the row, in place of numbers). */
export function markdownTable(rows: readonly DerivedRow[]): string[] {
  const lines = [
    `| ${HEADER.join(' | ')} |`,
    `| ${HEADER.map((_, i) => (RIGHT.has(i) ? '---:' : '---')).join(' | ')} |`,
  ];
  for (const r of rows) {
    const head = [r.shape, r.weights, String(r.context), r.cache];
    const llama = r.llamaCpp
      ? `${fmt(r.llamaCpp.prefillTokensPerSecond)} / ${fmt(r.llamaCpp.decodeTokensPerSecond)}`
      : r.llamaCppError
        ? `failed: ${r.llamaCppError}`
        : '';
    const body =
      r.error || r.decodeTokensPerSecond === undefined
        ? [`FAILED: ${r.error ?? 'no result'}`, '', '', '', '', '', '', '']
        : [
            fmt(r.prefillTokensPerSecond!),
            fmt(r.decodeTokensPerSecond),
            mib(r.bytesPerToken!),
            fmt(r.achievedGbPerSecond!),
            `${r.percentOfCopy!.toFixed(1)}%`,
            times(r.decodeVsFull),
            llama,
            times(r.decodeVsLlamaCpp),
          ];
    lines.push(`| ${[...head, ...body].map(cell).join(' | ')} |`);
  }
  return lines;
}
