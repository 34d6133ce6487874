import { visible } from '../../backend/attention-options.js';
import type { RaggedKV } from '../../backend/backend.js';
import type { Tensor } from '../../tensor/tensor.js';
import { floats, ints } from '../storage.js';

/**
 * Softmax-weighted sum for one query over the key rows `rows` (indices into k/v, each row `d` wide).
 * Written as a direct definition: logits, max, exp, normalize, weighted sum.
 */
function attendOne(
  q: Float32Array,
  qOff: number,
  k: Float32Array,
  v: Float32Array,
  rows: readonly number[],
  d: number,
  scale: number,
  out: Float32Array,
  outOff: number,
): void {
  if (rows.length === 0) return; // nothing visible: the output stays zero
  const logits = new Float64Array(rows.length);
  let max = Number.NEGATIVE_INFINITY;
  rows.forEach((r, j) => {
    let dot = 0;
    for (let c = 0; c < d; c++) dot += q[qOff + c]! * k[r * d + c]!;
    logits[j] = dot * scale;
    max = Math.max(max, logits[j]!);
  });
  let sum = 0;
  for (let j = 0; j < rows.length; j++) {
    logits[j] = Math.exp(logits[j]! - max);
    sum += logits[j]!;
  }
  const acc = new Float64Array(d);
  rows.forEach((r, j) => {
    const p = logits[j]! / sum;
    for (let c = 0; c < d; c++) acc[c]! += p * v[r * d + c]!;
  });
  for (let c = 0; c < d; c++) out[outOff + c] = acc[c]!;
}

export function raggedAttentionCpu(
  q: Tensor,
  kv: RaggedKV,
  qPositions: Tensor,
  dims: { n: number; H: number; d: number; G: number; rows: number; Hkv: number },
  scale: number,
  window: number,
): Float32Array {
  const { n, H, d, G } = dims;
  const qs = floats(q);
  const ks = floats(kv.keys);
  const vs = floats(kv.values);
  const pos = ints(kv.positions);
  const off = ints(kv.offsets);
  const len = ints(kv.lengths);
  const qpos = ints(qPositions);
  const out = new Float32Array(n * H * d);
  for (let i = 0; i < n; i++) {
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / G);
      const rows: number[] = [];
      for (let r = off[kvh]!; r < off[kvh]! + len[kvh]!; r++)
        if (visible(pos[r]!, qpos[i]!, window)) rows.push(r);
      attendOne(qs, (i * H + h) * d, ks, vs, rows, d, scale, out, (i * H + h) * d);
    }
  }
  return out;
}

/**
 * Column sums of the window's attention. Keys are addressed by index (the sequence's own order):
 * query t sits at index L − w + t; with a sliding window it sees the `window` indices up to its own.
 */
export function attentionColumnSumsCpu(
  q: Tensor,
  k: Tensor,
  dims: { H: number; w: number; d: number; L: number; G: number },
  scale: number,
  window: number,
): Float32Array {
  const { H, w, d, L, G } = dims;
  const qs = floats(q);
  const ks = floats(k);
  const out = new Float32Array(H * L);
  const probs = new Float64Array(L);
  for (let h = 0; h < H; h++) {
    const kvh = Math.floor(h / G);
    for (let t = 0; t < w; t++) {
      const last = L - w + t;
      const first = window === 0 ? 0 : Math.max(0, last - window + 1);
      let max = Number.NEGATIVE_INFINITY;
      for (let j = first; j <= last; j++) {
        let dot = 0;
        for (let c = 0; c < d; c++) dot += qs[(h * w + t) * d + c]! * ks[(kvh * L + j) * d + c]!;
        probs[j] = dot * scale;
        max = Math.max(max, probs[j]!);
      }
      let sum = 0;
      for (let j = first; j <= last; j++) {
        probs[j] = Math.exp(probs[j]! - max);
        sum += probs[j]!;
      }
      for (let j = first; j <= last; j++) out[h * L + j]! += probs[j]! / sum;
    }
  }
  return out;
}

/**
 * Attention mass per cache row: each (query, head) softmax over its visible rows, written as a
 * direct definition, and the probabilities added to the rows they fall on.
 */
export function attentionMassCpu(
  q: Tensor,
  kv: RaggedKV,
  qPositions: Tensor,
  dims: { n: number; H: number; d: number; G: number; rows: number },
  scale: number,
  window: number,
): Float32Array {
  const { n, H, d, G } = dims;
  const qs = floats(q);
  const ks = floats(kv.keys);
  const pos = ints(kv.positions);
  const off = ints(kv.offsets);
  const len = ints(kv.lengths);
  const qpos = ints(qPositions);
  const acc = new Float64Array(dims.rows);
  for (let i = 0; i < n; i++) {
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / G);
      const rows: number[] = [];
      for (let r = off[kvh]!; r < off[kvh]! + len[kvh]!; r++)
        if (visible(pos[r]!, qpos[i]!, window)) rows.push(r);
      if (rows.length === 0) continue;
      const logits = rows.map((r) => {
        let dot = 0;
        for (let c = 0; c < d; c++) dot += qs[(i * H + h) * d + c]! * ks[r * d + c]!;
        return dot * scale;
      });
      let max = Number.NEGATIVE_INFINITY;
      for (const x of logits) max = Math.max(max, x);
      const e = logits.map((x) => Math.exp(x - max));
      const sum = e.reduce((a, b) => a + b, 0);
      rows.forEach((r, j) => {
        acc[r]! += e[j]! / sum;
      });
    }
  }
  return Float32Array.from(acc);
}
