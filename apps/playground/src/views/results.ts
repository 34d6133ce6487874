import { firstDifference, formatBytes } from '../lib/shading.js';
import type { RunResult } from '../worker/protocol.js';
import { fill, h } from './dom.js';

export interface RunView {
  readonly label: string;
  readonly isFull: boolean;
  tokens: number[];
  pieces: string[];
  result: RunResult | null;
  error: string | null;
  progress: string;
}

/** Output test ids: the full cache's, the first method's, then numbered. */
function outputId(runs: readonly RunView[], i: number): string {
  if (runs[i]!.isFull) return 'output-full';
  const methodIndex = runs.slice(0, i).filter((r) => !r.isFull).length;
  return methodIndex === 0 ? 'output' : `output-${methodIndex + 1}`;
}

/** Side-by-side outputs (first token that differs from the full cache marked) and the numbers. */
export class ResultsView {
  readonly el: HTMLElement;
  private readonly columns = h('div', { class: 'columns' });
  private readonly stats = h('div', { 'data-testid': 'stats', class: 'stats' });

  constructor() {
    this.el = h(
      'section',
      { class: 'panel results', 'aria-labelledby': 'results-h' },
      h('h2', { id: 'results-h' }, 'Outputs'),
      this.columns,
      this.stats,
    );
  }

  render(runs: readonly RunView[]): void {
    const ref = runs.find((r) => r.isFull) ?? runs[0];
    fill(
      this.columns,
      ...runs.map((r, i) => {
        const diff = ref && r !== ref ? firstDifference(ref.tokens, r.tokens) : -1;
        const out = h('div', {
          class: 'output',
          'data-testid': outputId(runs, i),
          'data-tokens': r.tokens.join(','),
        });
        r.pieces.forEach((p, j) =>
          out.append(
            h(
              'span',
              j === diff ? { class: 'diff', title: 'first token that differs from the full cache' } : {},
              p,
            ),
          ),
        );
        const status = r.error
          ? h('p', { class: 'error', role: 'alert' }, r.error)
          : r.result
            ? h(
                'small',
                {},
                `stopped: ${r.result.stopReason}${diff >= 0 ? `; differs from the full cache at token ${diff + 1}` : r !== ref && ref ? '; same as the full cache' : ''}`,
              )
            : h('small', {}, r.progress);
        return h('div', { class: 'column' }, h('h3', {}, r.label), out, status);
      }),
    );
    const done = runs.filter((r) => r.result);
    if (done.length === 0) {
      fill(this.stats);
      return;
    }
    const rows = done.map((r) => {
      const s = r.result!;
      const pct = (100 * s.keptBytes) / s.fullBytes;
      return h(
        'tr',
        { 'data-run': r.label },
        h('th', { scope: 'row' }, r.label),
        h('td', {}, s.prefillTokensPerSecond.toFixed(1)),
        h('td', {}, s.decodeTokensPerSecond.toFixed(1)),
        h('td', {}, `${formatBytes(s.keptBytes)} of ${formatBytes(s.fullBytes)} (${pct.toFixed(1)}%)`),
        h(
          'td',
          {},
          h(
            'div',
            { class: 'bar', role: 'img', 'aria-label': `${pct.toFixed(1)}% of the full cache` },
            h('div', { style: `width:${Math.min(100, pct).toFixed(1)}%` }),
          ),
        ),
      );
    });
    fill(
      this.stats,
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'run'),
            h('th', {}, 'prefill tok/s'),
            h('th', {}, 'decode tok/s'),
            h('th', {}, 'cache kept'),
            h('th', {}, 'kept vs full'),
          ),
        ),
        h('tbody', {}, ...rows),
      ),
    );
  }
}
