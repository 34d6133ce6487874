import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writePlots } from '../plots/write.js';
import { checkPositions, type EvalOptions, planEval } from './plan.js';
import { Progress } from './progress.js';
import { type ResultRow, ResultStore, rowKey } from './results.js';
import { decodeSample, runSample } from './run-sample.js';
import { scorePrediction } from './score.js';
import { prefillSample } from './share.js';
import { summaryMarkdown } from './summary.js';

/** What {@link runEval} wrote and found. */
export interface EvalReport {
  /** Every row of the configuration, those of earlier runs included. */
  readonly rows: readonly ResultRow[];
  /** Rows this call ran (the rest were resumed from results.jsonl). */
  readonly ran: number;
  /** Path of results.jsonl. */
  readonly resultsPath: string;
  /** Path of summary.md. */
  readonly summaryPath: string;
  /** The Markdown written to summary.md. */
  readonly summary: string;
  /** Paths of the charts written under `out/plots` (SVGs, and PNGs when rendered). */
  readonly plots: readonly string[];
  /** Why PNGs were skipped, if they were. */
  readonly warnings: readonly string[];
  /** The configuration's hash (see {@link Plan.hash}). */
  readonly hash: string;
}

/**
 * Run every (task, length, depth, sample) prompt with the full cache and with each method at each
 * budget, append one line per run to `out/results.jsonl`, then write `summary.md` and `plots/`.
 * Runs already in results.jsonl under the same config are skipped, so an interrupted sweep picks
 * up where it stopped. The full cache runs on every prompt that has pending work, since the
 * methods' fidelity is measured against its first answer token.
 *
 * Unless `sharePrefill` is false, one prefill per prompt serves the full cache and every pending
 * method (see Model.startShared: compression does not change the prompt's forward pass); a
 * method that propagates fewer tokens to deeper layers (StructKV past its pivot) falls back to its
 * own prefill. Rows are the same either way, but for `seconds`.
 */
export async function runEval(o: EvalOptions): Promise<EvalReport> {
  const plan = planEval(o);
  const store = new ResultStore(o.out);
  const previous = store.open(plan.config, plan.hash, o.force ?? false);
  const done = new Map(previous.map((r) => [rowKey(r), r]));
  const keyOf = (it: (typeof plan.items)[number], c: (typeof plan.candidates)[number]) =>
    rowKey({
      task: it.task,
      method: c.method,
      budget: c.budget,
      length: it.length,
      depth: it.depth,
      index: it.index,
    });
  const total = plan.items.length * plan.candidates.length;
  const already = plan.items.reduce(
    (a, it) => a + plan.candidates.filter((c) => done.has(keyOf(it, c))).length,
    0,
  );
  const progress = o.progress ? new Progress(o.progress.write, o.progress.interactive, total, already) : null;
  let ran = 0;
  for (const it of plan.items) {
    const pending = plan.candidates.filter((c) => !done.has(keyOf(it, c)));
    if (pending.length === 0) continue;
    const sample = it.sample();
    const ids = sample.ids ?? [];
    const followUps = sample.followUps ?? [];
    const opts = { maxNewTokens: sample.maxNewTokens, stop: it.stop, followUps: followUps.map((f) => f.ids) };
    checkPositions(sample, plan.maxContext);
    // Score each question on its own references (an answer for the wrong key does not count).
    const turnRefs = [sample.outputs, ...followUps.map((f) => f.outputs)];
    const score = (answers: readonly string[]) =>
      turnRefs.reduce((a, refs, i) => a + scorePrediction(sample.metric, answers[i] ?? '', refs), 0) /
      turnRefs.length;
    const pre = await prefillSample(o.model, ids, pending, o.sharePrefill ?? true);
    try {
      const full = await decodeSample(o.model, pre.full.session, opts, performance.now() - pre.full.ms);
      for (const c of pending) {
        let r = full;
        if (c.instance) {
          const given = pre.take(c);
          r = given
            ? await decodeSample(
                o.model,
                given.session,
                { ...opts, reference: full },
                performance.now() - given.ms,
              )
            : await runSample(o.model, ids, { ...opts, method: c.instance, reference: full });
        }
        const row: ResultRow = {
          task: it.task,
          method: c.method,
          budget: c.budget,
          length: it.length,
          depth: it.depth,
          index: it.index,
          promptTokens: ids.length,
          prediction: r.answers.join('\n'),
          references: turnRefs.flat(),
          metric: sample.metric,
          score: score(r.answers),
          bytes: r.bytes,
          fidelity: r.fidelity ?? null,
          sameAsFull: c.instance ? r.answers.join('\n') === full.answers.join('\n') : null,
          generatedTokens: r.tokens.length,
          seconds: r.seconds,
        };
        store.append(row);
        done.set(keyOf(it, c), row);
        ran++;
        progress?.tick(`${it.task} ${c.method} ${c.budget === '-' ? '' : c.budget}`);
        o.onRow?.(ran);
      }
    } finally {
      pre.dispose();
    }
  }
  // Rows in plan order (not file order), so the outputs do not depend on where a run was interrupted.
  const rows = plan.items.flatMap((it) => plan.candidates.map((c) => done.get(keyOf(it, c))!));
  const order = plan.candidates.map((c) => ({ method: c.method, budget: c.budget }));
  const summary = summaryMarkdown(rows, {
    model: o.model.source,
    hash: plan.hash,
    order,
    ...(o.command ? { command: o.command } : {}),
  });
  const summaryPath = join(o.out, 'summary.md');
  writeFileSync(summaryPath, summary);
  const plots = await writePlots(rows, join(o.out, 'plots'), {
    budgets: o.budgets.map((b) => b.label),
    methods: o.methods.map((m) => m.name),
    png: o.png ?? true,
  });
  return {
    rows,
    ran,
    resultsPath: store.resultsPath,
    summaryPath,
    summary,
    plots: plots.files,
    warnings: plots.warnings,
    hash: plan.hash,
  };
}
