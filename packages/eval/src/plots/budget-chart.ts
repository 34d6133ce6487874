import { document, esc, n, PALETTE, text } from './svg.js';

/** One method's line in {@link budgetChartSvg}. */
export interface BudgetSeries {
  /** Legend label and tooltip (the method's name). */
  readonly method: string;
  /** Mean score in percent per budget label; missing budgets leave a gap. */
  readonly scores: ReadonlyMap<string, number>;
}

/**
 * Accuracy against budget for one task: budgets along x in the order given, score 0-100 up, one
 * line with markers per method, the full cache as a dashed reference line.
 */
export function budgetChartSvg(
  title: string,
  budgets: readonly string[],
  series: readonly BudgetSeries[],
  full: number | null,
): string {
  const left = 60;
  const top = 44;
  const pw = Math.max(240, budgets.length * 90);
  const ph = 240;
  const legendW = 170;
  const width = left + pw + 20 + legendW;
  const height = top + ph + 56;
  const pad = 30;
  const x = (i: number) =>
    left + (budgets.length === 1 ? pw / 2 : pad + (i * (pw - 2 * pad)) / (budgets.length - 1));
  const y = (v: number) => top + ph - (v / 100) * ph;
  const body: string[] = [
    text(left + pw / 2, 24, title, { size: 14, anchor: 'middle', weight: 'bold' }),
    `<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`,
  ];
  for (let v = 0; v <= 100; v += 25) {
    body.push(
      `<line x1="${left}" x2="${left + pw}" y1="${n(y(v))}" y2="${n(y(v))}" stroke="#e5e5e5"/>`,
      text(left - 6, y(v) + 4, String(v), { size: 11, anchor: 'end' }),
    );
  }
  budgets.forEach((b, i) => body.push(text(x(i), top + ph + 18, b, { size: 11, anchor: 'middle' })));
  body.push(
    text(left + pw / 2, height - 10, 'budget (KV entries kept per head)', { anchor: 'middle' }),
    text(18, top + ph / 2, 'score (%)', { anchor: 'middle', rotate: true }),
  );
  const legend: string[] = [];
  const legendRow = (i: number, color: string, label: string, dashed: boolean) => {
    const ly = top + 10 + i * 20;
    const lx = left + pw + 20;
    legend.push(
      `<line x1="${lx}" x2="${lx + 24}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      text(lx + 30, ly + 4, label, { size: 11 }),
    );
  };
  if (full !== null) {
    body.push(
      `<line class="reference" x1="${left}" x2="${left + pw}" y1="${n(y(full))}" y2="${n(y(full))}" stroke="#555" stroke-width="1.5" stroke-dasharray="6 4"><title>full cache: ${full.toFixed(1)}</title></line>`,
    );
    legendRow(0, '#555', `full cache (${full.toFixed(1)})`, true);
  }
  series.forEach((s, k) => {
    const color = PALETTE[k % PALETTE.length]!;
    const pts = budgets.flatMap((b, i) => (s.scores.has(b) ? [[x(i), y(s.scores.get(b)!)] as const] : []));
    if (pts.length > 1) {
      body.push(
        `<polyline class="series" fill="none" stroke="${color}" stroke-width="2" points="${pts.map(([px, py]) => `${n(px)},${n(py)}`).join(' ')}"><title>${esc(s.method)}</title></polyline>`,
      );
    }
    for (const [i, b] of budgets.entries()) {
      if (!s.scores.has(b)) continue;
      body.push(
        `<circle class="point" cx="${n(x(i))}" cy="${n(y(s.scores.get(b)!))}" r="3.5" fill="${color}"><title>${esc(s.method)} ${esc(b)}: ${s.scores.get(b)!.toFixed(1)}</title></circle>`,
      );
    }
    legendRow(k + (full === null ? 0 : 1), color, s.method, false);
  });
  return document(width, height, [...body, ...legend]);
}
