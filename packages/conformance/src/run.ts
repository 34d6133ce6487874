import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  type Backend,
  CpuBackend,
  createLayerContext,
  KvsieveError,
  keepAll,
  type ModelInfo,
  type Selection,
  type Tensor,
} from '@kvsieve/core';
import { compareKept, compareScoreArrays, DEFAULT_TOLERANCES, type Tolerances } from './compare.js';
import { scorerOf, VECTOR_METHODS, type VectorMethodAdapter } from './registry.js';
import { parseVectorFile, type VectorCheck, type VectorFile, VectorFileError } from './vector-file.js';

/** The outcome of one check (or of a file that could not be read). */
export interface CheckResult {
  /** The file and the check, e.g. `case-02-q8kv2L300d32.json: snapkv-…`. */
  readonly name: string;
  /** True when the kept sets match (up to ties) and recorded scores are within tolerance. */
  readonly passed: boolean;
  /** Why it failed (empty when it passed). */
  readonly problems: readonly string[];
}

/** What {@link runConformance} returns; {@link formatReport} prints it. */
export interface ConformanceReport {
  /** Checks that passed. */
  readonly passed: number;
  /** Checks that failed, unreadable files counting one each. */
  readonly failed: number;
  /** Every check's result, in file (sorted path) and check order. */
  readonly results: readonly CheckResult[];
}

/** Options of {@link runConformance}: tolerances (defaults {@link DEFAULT_TOLERANCES}), backend and methods. */
export interface ConformanceOptions extends Partial<Tolerances> {
  /** Backend the methods run on. Default: a new CPU reference backend. */
  readonly backend?: Backend;
  /** Methods a file may name; default {@link VECTOR_METHODS}. */
  readonly methods?: Readonly<Record<string, VectorMethodAdapter>>;
}

/** The `.json` files a path names: the file itself, or every `.json` under a folder (recursively, sorted). */
export function listVectorFiles(path: string): string[] {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    throw new VectorFileError(`${path}: no such file or folder; pass a vector file or a folder of them`);
  }
  if (st.isFile()) return [path];
  const out: string[] = [];
  for (const entry of readdirSync(path).sort()) {
    const full = join(path, entry);
    if (statSync(full).isDirectory()) out.push(...listVectorFiles(full));
    else if (entry.endsWith('.json')) out.push(full);
  }
  if (out.length === 0) throw new VectorFileError(`${path}: the folder holds no .json vector files`);
  return out;
}

/** Read and validate one vector file; throws a `VectorFileError` naming the file (and the field) when it is unreadable or not in the format. */
export function loadVectorFile(path: string): VectorFile {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new VectorFileError(`${path}: not readable JSON (${(e as Error).message})`);
  }
  return parseVectorFile(json, path);
}

function headRows(data: Float32Array, heads: number, length: number, d: number, from: number): Float32Array {
  const rows = length - from;
  const out = new Float32Array(heads * rows * d);
  for (let h = 0; h < heads; h++)
    out.set(data.subarray((h * length + from) * d, (h + 1) * length * d), h * rows * d);
  return out;
}

/** Runs one check on `file`'s inputs; problems are returned, bad input throws a KvsieveError. */
async function runCheck(
  file: VectorFile,
  check: VectorCheck,
  backend: Backend,
  adapters: Readonly<Record<string, VectorMethodAdapter>>,
  tol: Tolerances,
): Promise<string[]> {
  const adapter = adapters[check.method];
  if (!adapter) {
    throw new VectorFileError(
      `unknown method ${JSON.stringify(check.method)}; known: ${Object.keys(adapters).join(', ')}`,
    );
  }
  const { queryHeads: H, kvHeads: Hkv, length: L, headDim: d } = file.shape;
  const method = adapter.create(check.params);
  const model: ModelInfo = {
    numLayers: adapter.numLayers(check.params),
    numHeads: H,
    numKvHeads: Hkv,
    headDim: d,
  };
  const layer = check.layer ?? 0;
  const run = method.begin(model, { length: L });
  const w = Math.min(run.observe.window, L);
  const owned: Tensor[] = [];
  const keys = backend.upload(file.key, [Hkv, L, d], 'f32', 'key');
  owned.push(keys);
  const windowQueries = backend.upload(
    headRows(file.query, H, L, d, L - w),
    [H, w, d],
    'f32',
    'window queries',
  );
  owned.push(windowQueries);
  let allQueries: Tensor | undefined;
  if (run.observe.allQueries) {
    allQueries = backend.upload(file.query, [H, L, d], 'f32', 'query');
    owned.push(allQueries);
  }
  const ctx = createLayerContext({
    backend,
    model,
    layer,
    keys,
    windowQueries,
    ...(allQueries ? { allQueries } : {}),
    positions: Int32Array.from({ length: L }, (_, i) => i),
  });
  try {
    const decision = await run.afterLayer(ctx);
    const kept: Selection = decision.keep === 'all' ? keepAll(Hkv, L) : decision.keep;
    const scorer = scorerOf(method);
    let scores: Float32Array | null = null;
    if (scorer) {
      const t = await scorer.score(ctx);
      scores = await t.readF32();
      t.dispose();
    }
    const problems: string[] = [];
    const prefix = L - w;
    if (check.pooledScores) {
      if (!scores) problems.push('the file records pooledScores but the method has no scorer');
      else {
        const p = compareScoreArrays(scores, check.pooledScores, tol);
        if (p) problems.push(`scores: ${p}`);
      }
    }
    for (let h = 0; h < Hkv; h++) {
      const head = compareKept(
        kept[h]!,
        check.kept[h]!,
        scores ? scores.subarray(h * prefix, (h + 1) * prefix) : null,
        prefix,
        tol,
      );
      for (const p of head) problems.push(`KV head ${h}: ${p}`);
    }
    return problems;
  } finally {
    ctx.release();
    for (const t of owned) t.dispose();
  }
}

/**
 * Runs every check of every vector file under `paths` and compares the kept sets (with the golden
 * README's tie rule) and recorded scores. A file that cannot be read counts as one failure; a path
 * that does not exist throws a {@link VectorFileError}.
 */
export async function runConformance(
  paths: readonly string[],
  opts: ConformanceOptions = {},
): Promise<ConformanceReport> {
  if (paths.length === 0)
    throw new VectorFileError('runConformance: no paths given; pass vector files or folders');
  const tol: Tolerances = { ...DEFAULT_TOLERANCES, ...pick(opts) };
  const backend = opts.backend ?? new CpuBackend();
  const adapters = opts.methods ?? VECTOR_METHODS;
  const files = paths.flatMap((p) => listVectorFiles(p));
  const results: CheckResult[] = [];
  for (const path of files) {
    let file: VectorFile;
    try {
      file = loadVectorFile(path);
    } catch (e) {
      if (!(e instanceof KvsieveError)) throw e;
      results.push({ name: basename(path), passed: false, problems: [e.message] });
      continue;
    }
    for (const check of file.checks) {
      const name = `${basename(path)}: ${check.name}`;
      try {
        const problems = await runCheck(file, check, backend, adapters, tol);
        results.push({ name, passed: problems.length === 0, problems });
      } catch (e) {
        if (!(e instanceof KvsieveError)) throw e;
        results.push({ name, passed: false, problems: [`${e.name}: ${e.message}`] });
      }
    }
  }
  const passed = results.filter((r) => r.passed).length;
  return { passed, failed: results.length - passed, results };
}

function pick(opts: ConformanceOptions): Partial<Tolerances> {
  const out: { -readonly [K in keyof Tolerances]?: number } = {};
  for (const k of ['rtol', 'atol', 'tieRtol'] as const) if (opts[k] !== undefined) out[k] = opts[k];
  return out;
}

/** One line per failure, then `N passed, M failed`. */
export function formatReport(report: ConformanceReport): string {
  const lines = report.results
    .filter((r) => !r.passed)
    .map((r) => `FAIL ${r.name}: ${r.problems.join('; ')}`);
  lines.push(`${report.passed} passed, ${report.failed} failed`);
  return lines.join('\n');
}
