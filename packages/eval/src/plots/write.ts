import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { aggregate, groupBy } from '../sweep/aggregate.js';
import type { ResultRow } from '../sweep/results.js';
import { budgetChartSvg } from './budget-chart.js';
import { niahHeatmapSvg } from './heatmap.js';
import { findFont, loadResvg, svgToPng } from './png.js';

function slug(s: string): string {
  return s
    .replace(/%/g, 'pct')
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** What {@link writePlots} wrote. */
export interface PlotFiles {
  /** Paths of every file written, each SVG followed by its PNG when one was rendered. */
  readonly files: string[];
  /** Why PNGs were skipped (no font file found, or resvg failed to load); empty when nothing was skipped. */
  readonly warnings: string[];
}

/**
 * Every chart of a run under `dir`: a NIAH heatmap (length × depth) per task with depths and per
 * method and budget, and an accuracy-vs-budget chart per task with every method. SVG always; PNG
 * beside it when `png` and a DejaVu Sans font file is found (else one warning says why not).
 */
export async function writePlots(
  rows: readonly ResultRow[],
  dir: string,
  o: { budgets: readonly string[]; methods: readonly string[]; png: boolean; fontFile?: string | null },
): Promise<PlotFiles> {
  mkdirSync(dir, { recursive: true });
  const charts: { name: string; svg: string }[] = [];
  for (const { key: task, rows: taskRows } of groupBy(rows, (r) => r.task).values()) {
    const withDepth = taskRows.filter((r) => r.depth !== null);
    for (const { key, rows: rs } of groupBy(withDepth, (r) => [r.method, r.budget] as const).values()) {
      const cells = [...groupBy(rs, (r) => [r.length, r.depth!] as const).values()].map((g) => ({
        length: g.key[0],
        depth: g.key[1],
        score: aggregate(g.rows).score,
      }));
      const label = key[0] === 'full' ? 'full cache' : `${key[0]} ${key[1]}`;
      charts.push({
        name: `niah-${slug(task)}-${slug(label)}`,
        svg: niahHeatmapSvg(`${task}: ${label}`, cells),
      });
    }
    const fullRows = taskRows.filter((r) => r.method === 'full');
    const series = o.methods.flatMap((m) => {
      const scores = new Map<string, number>();
      for (const b of o.budgets) {
        const rs = taskRows.filter((r) => r.method === m && r.budget === b);
        if (rs.length) scores.set(b, aggregate(rs).score);
      }
      return scores.size ? [{ method: m, scores }] : [];
    });
    if (series.length > 0 || fullRows.length > 0) {
      charts.push({
        name: `budget-${slug(task)}`,
        svg: budgetChartSvg(
          `${task}: score vs budget`,
          o.budgets,
          series,
          fullRows.length ? aggregate(fullRows).score : null,
        ),
      });
    }
  }
  const files: string[] = [];
  const warnings: string[] = [];
  const font = o.png ? (o.fontFile === undefined ? findFont() : o.fontFile) : null;
  let toPng: ((svg: string) => Buffer) | null = null;
  if (o.png && font === null) {
    warnings.push(
      'PNG skipped: no DejaVu Sans font file found (install fonts-dejavu-core, e.g. apt-get install fonts-dejavu-core); the SVGs are written',
    );
  } else if (font !== null) {
    const mod = await loadResvg();
    if (mod instanceof Error) {
      warnings.push(`PNG skipped: @resvg/resvg-js did not load (${mod.message}); the SVGs are written`);
    } else {
      toPng = (svg) => svgToPng(mod, svg, font);
    }
  }
  for (const c of charts) {
    const svgPath = join(dir, `${c.name}.svg`);
    writeFileSync(svgPath, c.svg);
    files.push(svgPath);
    if (toPng) {
      const pngPath = join(dir, `${c.name}.png`);
      writeFileSync(pngPath, toPng(c.svg));
      files.push(pngPath);
    }
  }
  return { files, warnings };
}
