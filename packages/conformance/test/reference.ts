/**
 * An independent, direct implementation of METHODS.md for generating reference vectors in tests:
 * plain loops in float64, nothing from the method packages or core's ops. The conformance runner
 * must agree with it on shapes, GQA ratios, windows, kernels, capacities and layer counts the
 * shared golden files do not cover.
 */
import { encodeF32 } from '../src/vector-file.js';

export type Reduce = 'mean' | 'max' | 'sum';

export interface Inputs {
  readonly H: number;
  readonly Hkv: number;
  readonly L: number;
  readonly d: number;
  readonly q: Float32Array; // [H, L, d]
  readonly k: Float32Array; // [Hkv, L, d]
}

export function randomInputs(
  seed: number,
  H: number,
  Hkv: number,
  L: number,
  d: number,
  spread: number,
): Inputs {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  const fill = (n: number) => Float32Array.from({ length: n }, () => spread * normal());
  return { H, Hkv, L, d, q: fill(H * L * d), k: fill(Hkv * L * d) };
}

/** Per query head, Σ over queries `from … L−1` of causal softmax rows: `[H][L]`. */
export function columnSums(x: Inputs, from: number): number[][] {
  const { H, Hkv, L, d, q, k } = x;
  const G = H / Hkv;
  const out: number[][] = [];
  for (let h = 0; h < H; h++) {
    const col = new Array<number>(L).fill(0);
    const kv = Math.floor(h / G);
    for (let t = from; t < L; t++) {
      const logits: number[] = [];
      for (let j = 0; j <= t; j++) {
        let dot = 0;
        for (let c = 0; c < d; c++) dot += q[(h * L + t) * d + c]! * k[(kv * L + j) * d + c]!;
        logits.push(dot / Math.sqrt(d));
      }
      const m = Math.max(...logits);
      const e = logits.map((v) => Math.exp(v - m));
      const z = e.reduce((a, b) => a + b, 0);
      for (let j = 0; j <= t; j++) col[j]! += e[j]! / z;
    }
    out.push(col);
  }
  return out;
}

export function reduceGroups(rows: number[][], Hkv: number, op: Reduce): number[][] {
  const G = rows.length / Hkv;
  return Array.from({ length: Hkv }, (_, g) =>
    rows[0]!.map((_, j) => {
      const vals = Array.from({ length: G }, (_, i) => rows[g * G + i]![j]!);
      if (op === 'max') return Math.max(...vals);
      const sum = vals.reduce((a, b) => a + b, 0);
      return op === 'mean' ? sum / G : sum;
    }),
  );
}

export function pool(row: number[], kernel: number, mode: 'avgpool' | 'maxpool'): number[] {
  const pad = (kernel - 1) / 2;
  return row.map((_, i) => {
    const window: number[] = [];
    for (let j = i - pad; j <= i + pad; j++) if (j >= 0 && j < row.length) window.push(row[j]!);
    return mode === 'maxpool' ? Math.max(...window) : window.reduce((a, b) => a + b, 0) / kernel;
  });
}

/** The `n` best positions (ties to the lower index), ascending. */
export function topAscending(row: readonly number[], n: number): number[] {
  const order = row.map((_, i) => i).sort((a, b) => (row[b]! !== row[a]! ? row[b]! - row[a]! : a - b));
  return order.slice(0, n).sort((a, b) => a - b);
}

function range(a: number, b: number): number[] {
  return Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);
}

export interface WindowParams {
  readonly window: number;
  readonly capacity: number;
  readonly kernel: number;
  readonly pooling: 'avgpool' | 'maxpool';
  readonly gqaReduce: Reduce;
}

/** SnapKV's pooled prefix scores per KV head. */
export function snapScores(x: Inputs, p: WindowParams): number[][] {
  const reduced = reduceGroups(columnSums(x, x.L - p.window), x.Hkv, p.gqaReduce);
  return reduced.map((row) => pool(row.slice(0, x.L - p.window), p.kernel, p.pooling));
}

function keepTop(scores: number[][], budgets: number[], L: number, w: number): number[][] {
  return scores.map((row, h) => [...topAscending(row, budgets[h]!), ...range(L - w, L)]);
}

export function snapkvKept(x: Inputs, p: WindowParams): { kept: number[][]; scores: number[][] } {
  const scores = snapScores(x, p);
  if (x.L < p.capacity) return { kept: scores.map(() => range(0, x.L)), scores };
  return {
    kept: keepTop(
      scores,
      scores.map(() => p.capacity - p.window),
      x.L,
      p.window,
    ),
    scores,
  };
}

/** METHODS.md's PyramidKV schedule, literally. */
export function pyramidPrefix(
  L: number,
  p: WindowParams,
  beta: number,
  numLayers: number,
  layer: number,
): number | 'all' {
  const base = p.capacity - p.window;
  if (L < p.capacity) return 'all';
  if (L < 2 * base) return base;
  let lo = Math.floor(base / beta);
  let hi = 2 * base - lo;
  if (hi >= L - p.window) {
    hi = L - p.window;
    lo = 2 * base - hi;
  }
  const step = Math.floor((hi - lo) / (numLayers - 1));
  return hi - layer * step;
}

export function pyramidkvKept(
  x: Inputs,
  p: WindowParams,
  beta: number,
  numLayers: number,
  layer: number,
): number[][] {
  const cap = pyramidPrefix(x.L, p, beta, numLayers, layer);
  const scores = snapScores(x, p);
  if (cap === 'all') return scores.map(() => range(0, x.L));
  return keepTop(
    scores,
    scores.map(() => cap),
    x.L,
    p.window,
  );
}

export function h2oKept(x: Inputs, window: number, capacity: number, gqaReduce: Reduce): number[][] {
  const reduced = reduceGroups(columnSums(x, 0), x.Hkv, gqaReduce).map((r) => r.slice(0, x.L - window));
  if (x.L < capacity) return reduced.map(() => range(0, x.L));
  return keepTop(
    reduced,
    reduced.map(() => capacity - window),
    x.L,
    window,
  );
}

export function streamingKept(x: Inputs, window: number, capacity: number): number[][] {
  const kept =
    x.L <= capacity ? range(0, x.L) : [...range(0, capacity - window), ...range(x.L - window, x.L)];
  return Array.from({ length: x.Hkv }, () => kept);
}

/** AdaKV over SnapKV scores: floor ⌊α·(C − w)⌋ per head, the rest of the layer's total by global score. */
export function adakvKept(x: Inputs, p: WindowParams, alpha: number): number[][] {
  const scores = snapScores(x, p);
  if (x.L < p.capacity) return scores.map(() => range(0, x.L));
  const base = p.capacity - p.window;
  const floor = Math.floor(alpha * base);
  const chosen = scores.map((row) => new Set(topAscending(row, floor)));
  const pool: { h: number; j: number; s: number }[] = [];
  scores.forEach((row, h) => {
    row.forEach((s, j) => {
      if (!chosen[h]!.has(j)) pool.push({ h, j, s });
    });
  });
  pool.sort((a, b) => b.s - a.s || a.h - b.h || a.j - b.j);
  for (const e of pool.slice(0, x.Hkv * base - x.Hkv * floor)) chosen[e.h]!.add(e.j);
  return chosen.map((set) => [...[...set].sort((a, b) => a - b), ...range(x.L - p.window, x.L)]);
}

export interface CheckJson {
  name: string;
  method: string;
  params: Record<string, unknown>;
  layer?: number;
  kept: number[][];
  pooledScores?: string;
}

export function vectorFileJson(name: string, x: Inputs, checks: CheckJson[]): Record<string, unknown> {
  return {
    name,
    shape: { queryHeads: x.H, kvHeads: x.Hkv, length: x.L, headDim: x.d },
    query: encodeF32(x.q),
    key: encodeF32(x.k),
    checks,
  };
}

/** Every method of METHODS.md that the format can name, on one input set. */
export function allChecks(
  x: Inputs,
  p: WindowParams,
  extra: { beta: number; numLayers: number; alpha: number },
): CheckJson[] {
  const tag = `q${x.H}kv${x.Hkv}L${x.L}d${x.d}w${p.window}C${p.capacity}k${p.kernel}${p.pooling}${p.gqaReduce}`;
  const snap = snapkvKept(x, p);
  const checks: CheckJson[] = [
    {
      name: `snapkv-${tag}`,
      method: 'snapkv',
      params: { ...p },
      kept: snap.kept,
      pooledScores: encodeF32(snap.scores.flat()),
    },
  ];
  for (let layer = 0; layer < extra.numLayers; layer++) {
    checks.push({
      name: `pyramidkv-${tag}-N${extra.numLayers}-layer${layer}`,
      method: 'pyramidkv',
      params: { ...p, beta: extra.beta, numLayers: extra.numLayers },
      layer,
      kept: pyramidkvKept(x, p, extra.beta, extra.numLayers, layer),
    });
  }
  checks.push({
    name: `h2o-${tag}`,
    method: 'h2o',
    params: { window: p.window, capacity: p.capacity, gqaReduce: p.gqaReduce },
    kept: h2oKept(x, p.window, p.capacity, p.gqaReduce),
  });
  checks.push({
    name: `streamingllm-${tag}`,
    method: 'streamingllm',
    params: { window: p.window, capacity: p.capacity },
    kept: streamingKept(x, p.window, p.capacity),
  });
  if (p.pooling === 'avgpool') {
    // Max pooling's plateaus make AdaKV's cross-head counts tie-dependent; the per-head tie rule
    // cannot judge those, so AdaKV vectors use average pooling.
    checks.push({
      name: `adakv-${tag}-a${extra.alpha}`,
      method: 'adakv',
      params: { ...p, alpha: extra.alpha },
      kept: adakvKept(x, p, extra.alpha),
    });
  }
  return checks;
}
