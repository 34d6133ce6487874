import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OptionError } from '@kvsieve/core';
import { DatasetError } from '../tasks/errors.js';
import type { Metric } from '../tasks/types.js';
import type { Fidelity } from './run-sample.js';

/** One line of results.jsonl: a sample run with one method at one budget. */
export interface ResultRow {
  /** Task name. */
  readonly task: string;
  /** Method name; `'full'` for the full cache. */
  readonly method: string;
  /** Budget label (`20%`, `64 tokens`), `-` for the full cache. */
  readonly budget: string;
  /** Requested length (generated tasks) or the file's length field. */
  readonly length: number;
  /** Needle depth in percent; null for tasks without one. */
  readonly depth: number | null;
  /** Sample index within its task, length and depth. */
  readonly index: number;
  /** Prompt ids actually run (BOS and answer prefix included). */
  readonly promptTokens: number;
  /** Every answer, trimmed, joined by newlines (one answer unless the sample has follow-up questions). */
  readonly prediction: string;
  /** Every question's reference strings, flattened in turn order. */
  readonly references: readonly string[];
  /** How `score` was computed. */
  readonly metric: Metric;
  /** In [0, 1]: each question scored on its own references, then averaged over the questions. */
  readonly score: number;
  /** Cache sizes after prefill. */
  readonly bytes: {
    /** Bytes of the entries the cache holds. */
    readonly used: number;
    /** Bytes the cache has allocated (rows reserved for growth included). */
    readonly allocated: number;
    /** Bytes a full cache of the prompt takes in the same dtype: what `used` is compared with. */
    readonly full: number;
  };
  /** Next-token agreement with the full cache (see Fidelity); null for the full cache itself. */
  readonly fidelity: Fidelity | null;
  /** Whether the prediction equals the full cache's; null for the full cache itself. */
  readonly sameAsFull: boolean | null;
  /** Tokens generated over every answer, end-of-sequence and stop-string tokens included. */
  readonly generatedTokens: number;
  /**
   * Wall time of the run: its prefill and decode. With a shared prefill, the prefill's time is
   * split evenly over the runs it served.
   */
  readonly seconds: number;
}

/** The identity of a row for resuming: task, method, budget, length, depth and index as a JSON string. */
export function rowKey(
  r: Pick<ResultRow, 'task' | 'method' | 'budget' | 'length' | 'depth' | 'index'>,
): string {
  return JSON.stringify([r.task, r.method, r.budget, r.length, r.depth, r.index]);
}

/**
 * The output folder: config.json (the run's settings and their hash) and results.jsonl, appended
 * one line per finished sample so an interrupted run loses at most the line being written.
 */
export class ResultStore {
  /** `dir/results.jsonl`. */
  readonly resultsPath: string;
  private readonly configPath: string;

  constructor(
    /** The output folder (created by {@link ResultStore.open}). */
    readonly dir: string,
  ) {
    this.resultsPath = join(dir, 'results.jsonl');
    this.configPath = join(dir, 'config.json');
  }

  /**
   * Rows already done under the same config. A folder holding another config's results is an
   * error unless `force`, which discards them.
   */
  open(config: object, hash: string, force: boolean): ResultRow[] {
    mkdirSync(this.dir, { recursive: true });
    if (existsSync(this.configPath)) {
      const old = JSON.parse(readFileSync(this.configPath, 'utf8')) as { hash?: string };
      if (old.hash !== hash && !force) {
        throw new OptionError(
          `${this.dir} holds results of another configuration (hash ${old.hash}, this run ${hash}); use a new --out folder, or --force to discard them`,
        );
      }
      if (old.hash !== hash || force) rmSync(this.resultsPath, { force: true });
    } else if (existsSync(this.resultsPath)) {
      if (!force) {
        throw new OptionError(
          `${this.resultsPath} exists without its config.json; use a new --out folder, or --force to discard it`,
        );
      }
      rmSync(this.resultsPath, { force: true });
    }
    writeFileSync(this.configPath, `${JSON.stringify({ hash, config }, null, 2)}\n`);
    return this.read();
  }

  private read(): ResultRow[] {
    if (!existsSync(this.resultsPath)) return [];
    const text = readFileSync(this.resultsPath, 'utf8');
    const lines = text.split('\n');
    // A run killed mid-write leaves a last line without its newline: drop it and rewrite the file.
    const complete = text.endsWith('\n') ? lines.slice(0, -1) : lines.slice(0, -1);
    if (!text.endsWith('\n') && text.length > 0)
      writeFileSync(this.resultsPath, complete.map((l) => `${l}\n`).join(''));
    return complete.map((line, i) => {
      try {
        return JSON.parse(line) as ResultRow;
      } catch (e) {
        throw new DatasetError(
          `${this.resultsPath}:${i + 1}: not valid JSON (${(e as Error).message}); fix or delete the line, or run with --force to start over`,
        );
      }
    });
  }

  /** Append one row as a line of results.jsonl, at once (nothing is buffered). */
  append(row: ResultRow): void {
    appendFileSync(this.resultsPath, `${JSON.stringify(row)}\n`);
  }
}
