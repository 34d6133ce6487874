import { type CompressionMethod, OptionError } from '@kvsieve/core';
import { generate, type Model } from '@kvsieve/runtime';

/** One configuration {@link runDecodeBudget} generates with. */
export interface DecodeBudgetCandidate {
  /** Column label in {@link decodeBudgetTable} and the trace's name. */
  readonly name: string;
  /** No method: the full cache. */
  readonly method?: CompressionMethod;
}

/** How long {@link runDecodeBudget} generates and how often it samples; both must be integers ≥ 1 (else an `OptionError`). */
export interface DecodeBudgetOptions {
  /** Tokens to generate (greedy, stop tokens ignored so every run has the same length). */
  readonly tokens: number;
  /** Report the cache every `every` generated tokens (and after the first). */
  readonly every: number;
}

/** The cache's size at one generation step, summed over layers and KV heads. */
export interface CacheSample {
  /** Tokens generated so far. */
  readonly generated: number;
  /** Bytes the cache has allocated (rows reserved for growth included). */
  readonly allocated: number;
  /** Bytes of the entries it holds. */
  readonly used: number;
}

/** One candidate's cache sizes over a {@link runDecodeBudget} run. */
export interface DecodeBudgetTrace {
  /** The candidate's name. */
  readonly name: string;
  /** Samples after the first token, every `every`-th token and the last one, in order. */
  readonly samples: readonly CacheSample[];
  /** Allocated bytes, smallest and largest over every step after the first. */
  readonly allocatedRange: readonly [number, number];
  /** Wall-clock seconds of the whole run (prefill and every decode step). */
  readonly seconds: number;
}

/**
 * Generate `tokens` tokens with each candidate and follow the cache's allocated and used bytes step
 * by step: a decode-time budget shows as an allocation that stops growing.
 */
export async function runDecodeBudget(
  model: Model,
  prompt: readonly number[],
  candidates: readonly DecodeBudgetCandidate[],
  opts: DecodeBudgetOptions,
): Promise<DecodeBudgetTrace[]> {
  for (const [name, v] of [
    ['tokens', opts.tokens],
    ['every', opts.every],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new OptionError(`decode budget: option "${name}" must be a positive integer, got ${v}`);
  }
  const max = model.config.maxPositions;
  if (prompt.length + opts.tokens > max) {
    throw new OptionError(
      `decode budget: ${prompt.length} prompt tokens + ${opts.tokens} generated exceed the model's ${max} positions; shorten the prompt or generate fewer tokens`,
    );
  }
  const traces: DecodeBudgetTrace[] = [];
  for (const c of candidates) {
    const samples: CacheSample[] = [];
    let lo = Number.POSITIVE_INFINITY;
    let hi = 0;
    const t0 = performance.now();
    const run = generate(model, prompt, {
      maxTokens: opts.tokens,
      stopTokens: [],
      ...(c.method ? { method: c.method } : {}),
    });
    for await (const t of run) {
      const generated = t.step + 1;
      const allocated = t.stats.cacheAllocatedBytes;
      if (t.step > 0) {
        lo = Math.min(lo, allocated);
        hi = Math.max(hi, allocated);
      }
      if (generated === 1 || generated % opts.every === 0 || generated === opts.tokens) {
        samples.push({ generated, allocated, used: t.stats.cacheBytes.reduce((a, b) => a + b, 0) });
      }
    }
    traces.push({
      name: c.name,
      samples,
      allocatedRange: [lo === Number.POSITIVE_INFINITY ? hi : lo, hi],
      seconds: (performance.now() - t0) / 1000,
    });
  }
  return traces;
}

/** Markdown: one row per sample step, allocated (used) bytes per candidate. */
export function decodeBudgetTable(traces: readonly DecodeBudgetTrace[]): string {
  const fmt = (n: number) => n.toLocaleString('en-US');
  const head = [
    `| generated | ${traces.map((t) => `${t.name}: allocated (used) bytes`).join(' | ')} |`,
    `| --- | ${traces.map(() => '---').join(' | ')} |`,
  ];
  const steps = traces[0]?.samples.map((s) => s.generated) ?? [];
  const rows = steps.map((g, i) => {
    const cells = traces.map((t) => {
      const s = t.samples[i];
      return s ? `${fmt(s.allocated)} (${fmt(s.used)})` : '–';
    });
    return `| ${g} | ${cells.join(' | ')} |`;
  });
  return [...head, ...rows].join('\n');
}
