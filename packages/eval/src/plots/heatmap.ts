import { document, n, scoreColor, text } from './svg.js';

/** One cell of {@link niahHeatmapSvg}: the mean score of the samples at one length and depth. */
export interface HeatmapCell {
  /** Context length in tokens (the column). */
  readonly length: number;
  /** Needle depth in percent, 0 at the start of the haystack (the row). */
  readonly depth: number;
  /** Mean score in percent. */
  readonly score: number;
}

/**
 * A NIAH heatmap: context length across, needle depth down (0% = start of the haystack at the
 * top), each cell coloured and labelled by its mean score.
 */
export function niahHeatmapSvg(title: string, cells: readonly HeatmapCell[]): string {
  const lengths = [...new Set(cells.map((c) => c.length))].sort((a, b) => a - b);
  const depths = [...new Set(cells.map((c) => c.depth))].sort((a, b) => a - b);
  const cw = 64;
  const ch = 28;
  const left = 90;
  const top = 50;
  const width = left + lengths.length * cw + 30;
  const height = top + depths.length * ch + 60;
  const body: string[] = [text(width / 2, 24, title, { size: 14, anchor: 'middle', weight: 'bold' })];
  for (const c of cells) {
    const x = left + lengths.indexOf(c.length) * cw;
    const y = top + depths.indexOf(c.depth) * ch;
    body.push(
      `<rect class="cell" x="${n(x)}" y="${n(y)}" width="${cw}" height="${ch}" fill="${scoreColor(c.score)}" stroke="#ffffff"><title>length ${c.length}, depth ${c.depth}%: ${c.score.toFixed(1)}</title></rect>`,
      text(x + cw / 2, y + ch / 2 + 4, c.score.toFixed(0), { size: 11, anchor: 'middle' }),
    );
  }
  lengths.forEach((L, i) =>
    body.push(
      text(left + i * cw + cw / 2, top + depths.length * ch + 16, String(L), { size: 11, anchor: 'middle' }),
    ),
  );
  depths.forEach((d, i) =>
    body.push(text(left - 8, top + i * ch + ch / 2 + 4, `${d}%`, { size: 11, anchor: 'end' })),
  );
  body.push(
    text(left + (lengths.length * cw) / 2, height - 14, 'context length (tokens)', { anchor: 'middle' }),
    text(22, top + (depths.length * ch) / 2, 'needle depth', { anchor: 'middle', rotate: true }),
  );
  return document(width, height, body);
}
