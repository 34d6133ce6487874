import { keptCounts, keptFraction, keptSet, layerHeatmap, scoreShading, shade } from '../lib/shading.js';
import type { LayerKept } from '../worker/protocol.js';
import { fill, h } from './dom.js';

export interface KeptRun {
  readonly label: string;
  readonly layers: readonly LayerKept[];
}

/**
 * What a method kept: the prompt's tokens shaded by the fraction of (layer, KV head) pairs keeping
 * each (or exactly one layer's or head's kept set), a layer × position heatmap, and per-layer kept
 * counts with what the method says about each layer (StructKV's pivot and propagation, notes).
 */
export class KeptView {
  readonly el: HTMLElement;
  private readonly runSelect = h('select', { id: 'kept-run' });
  private readonly layerSelect = h('select', { id: 'layer-select', 'data-testid': 'layer-select' });
  private readonly headSelect = h('select', { id: 'head-select', 'data-testid': 'head-select' });
  private readonly modeSelect = h(
    'select',
    { id: 'shade-mode' },
    h('option', { value: 'kept' }, 'what was kept'),
    h('option', { value: 'scores' }, 'observation-window scores'),
  );
  private readonly map = h('div', { class: 'kept-map', 'data-testid': 'kept-map' });
  private readonly legend = h('p', { class: 'legend' });
  private readonly heat = h('canvas', {
    class: 'heatmap',
    role: 'img',
    'aria-label': 'layer by position heatmap of kept entries',
  });
  private readonly table = h('div', { class: 'kept-table' });
  private runs: readonly KeptRun[] = [];
  private pieces: readonly string[] = [];

  constructor() {
    for (const s of [this.runSelect, this.layerSelect, this.headSelect, this.modeSelect])
      s.addEventListener('change', () => this.draw(s === this.layerSelect || s === this.runSelect));
    this.el = h(
      'section',
      { class: 'panel kept', 'aria-labelledby': 'kept-h' },
      h('h2', { id: 'kept-h' }, 'What was kept'),
      h(
        'div',
        { class: 'row' },
        h('label', { for: 'kept-run' }, 'run '),
        this.runSelect,
        h('label', { for: 'layer-select' }, ' layer '),
        this.layerSelect,
        h('label', { for: 'head-select' }, ' KV head '),
        this.headSelect,
        h('label', { for: 'shade-mode' }, ' shade by '),
        this.modeSelect,
      ),
      this.legend,
      this.map,
      h('h3', {}, 'Layer × position'),
      this.heat,
      h('h3', {}, 'Kept per layer'),
      this.table,
    );
  }

  set(pieces: readonly string[], runs: readonly KeptRun[]): void {
    this.pieces = pieces;
    this.runs = runs;
    const current = this.runSelect.value;
    fill(this.runSelect, ...runs.map((r, i) => h('option', { value: String(i) }, r.label)));
    const keep = runs.findIndex((r) => r.label === current);
    this.runSelect.value = String(Math.max(keep, 0));
    this.draw(true);
  }

  private draw(resetSelectors: boolean): void {
    const run = this.runs[Number(this.runSelect.value)];
    if (!run) {
      fill(this.map, 'Run a method to see what it keeps.');
      return;
    }
    const kept = run.layers.map((l) => l.heads);
    const kvHeads = kept[0]?.length ?? 0;
    if (resetSelectors) {
      const layer = this.layerSelect.value;
      const head = this.headSelect.value;
      fill(
        this.layerSelect,
        h('option', { value: 'all' }, 'all'),
        ...run.layers.map((l) => h('option', { value: String(l.layer) }, String(l.layer))),
      );
      fill(
        this.headSelect,
        h('option', { value: 'all' }, 'all'),
        ...Array.from({ length: kvHeads }, (_, i) => h('option', { value: String(i) }, String(i))),
      );
      this.layerSelect.value = run.layers.some((l) => String(l.layer) === layer) ? layer : 'all';
      this.headSelect.value = /^\d+$/.test(head) && Number(head) < kvHeads ? head : 'all';
    }
    const n = this.pieces.length;
    const layer = this.layerSelect.value === 'all' ? null : Number(this.layerSelect.value);
    const head = this.headSelect.value === 'all' ? null : Number(this.headSelect.value);
    let fraction: Float32Array;
    const scored = run.layers.filter((l) => l.scores && (layer === null || l.layer === layer));
    if (this.modeSelect.value === 'scores') {
      const rows = scored.flatMap((l) => (head === null ? l.scores! : [l.scores![head]!]));
      fraction = scoreShading(rows, n);
      this.legend.textContent =
        rows.length === 0
          ? `${run.label} reads no observation window: nothing is scored (it keeps tokens by position).`
          : `Shade: observation-window score (the last window queries' attention, mean over query heads), scaled to each head's largest, averaged over ${layer === null ? 'layers and ' : ''}${head === null ? 'KV heads' : `KV head ${head}`}; white with a dotted line: not scored (the window, always kept).`;
    } else if (layer === null) {
      fraction =
        head === null
          ? keptFraction(kept, n)
          : keptFraction(
              kept.map((l) => [l[head]!]),
              n,
            );
      this.legend.textContent =
        head === null
          ? 'Shade: fraction of (layer, KV head) pairs keeping each token (white: dropped everywhere, dark: kept by all).'
          : `Shade: fraction of layers whose KV head ${head} keeps each token.`;
    } else {
      const set = keptSet(kept, layer, head);
      fraction =
        head === null
          ? keptFraction([kept[layer]!], n)
          : Float32Array.from({ length: n }, (_, i) => (set.has(i) ? 1 : 0));
      this.legend.textContent =
        head === null
          ? `Shade: fraction of layer ${layer}'s KV heads keeping each token (${set.size} positions kept by at least one).`
          : `Layer ${layer}, KV head ${head}: exactly the ${set.size} kept positions are dark.`;
    }
    fill(
      this.map,
      ...this.pieces.map((p, i) => {
        const f = fraction[i]!;
        if (this.modeSelect.value === 'scores') {
          return Number.isNaN(f)
            ? h('span', { class: 'unscored', title: `#${i} not scored` }, p)
            : h(
                'span',
                {
                  style: `background:${shade(f)}`,
                  title: `#${i} score ${(100 * f).toFixed(0)}% of the largest`,
                  'data-score': f.toFixed(3),
                },
                p,
              );
        }
        return h(
          'span',
          {
            style: `background:${shade(f)}`,
            title: `#${i} kept by ${(100 * f).toFixed(0)}%`,
            'data-kept': f.toFixed(3),
          },
          p,
        );
      }),
    );
    this.drawHeatmap(layerHeatmap(kept, n));
    this.drawTable(run);
  }

  private drawHeatmap(rows: Float32Array[]): void {
    const n = rows[0]?.length ?? 0;
    const cell = 12;
    // One pixel column per position (at most 2048 wide); CSS stretches it to the panel width.
    const width = Math.max(1, Math.min(n, 2048));
    this.heat.width = width;
    this.heat.height = rows.length * cell;
    // Stretched to the panel's width, but rows keep their height whatever the prompt's length.
    this.heat.style.height = `${rows.length * cell}px`;
    const ctx = this.heat.getContext('2d');
    if (!ctx) return;
    rows.forEach((row, l) => {
      for (let x = 0; x < width; x++) {
        const from = Math.floor((x * n) / width);
        const to = Math.max(from + 1, Math.floor(((x + 1) * n) / width));
        let s = 0;
        for (let i = from; i < to; i++) s += row[i]!;
        ctx.fillStyle = shade(s / (to - from));
        ctx.fillRect(x, l * cell, 1, cell);
      }
    });
  }

  private drawTable(run: KeptRun): void {
    const { perLayer, perHead } = keptCounts(run.layers.map((l) => l.heads));
    const varies = perHead.some((hs) => hs.some((c) => c !== hs[0]));
    fill(
      this.table,
      h(
        'table',
        { 'data-testid': 'kept-counts' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'layer'),
            h('th', {}, 'computed on'),
            h('th', {}, 'kept (sum over KV heads)'),
            h('th', {}, 'per KV head'),
            h('th', {}, 'method notes'),
          ),
        ),
        h(
          'tbody',
          {},
          ...run.layers.map((l, i) =>
            h(
              'tr',
              { 'data-layer': l.layer, 'data-kept': perHead[i]!.join(',') },
              h('td', {}, String(l.layer)),
              h('td', {}, `${l.tokens} tokens`),
              h('td', {}, String(perLayer[i])),
              h('td', {}, perHead[i]!.join(' / ')),
              h(
                'td',
                {},
                [
                  l.note,
                  l.propagated !== undefined
                    ? `deeper layers compute on ${l.propagated} tokens (pivot passed)`
                    : '',
                ]
                  .filter((x) => x)
                  .join('; '),
              ),
            ),
          ),
        ),
      ),
      varies
        ? h('p', {}, 'KV heads keep different counts here: the method allocates budgets per head.')
        : null,
    );
  }
}
