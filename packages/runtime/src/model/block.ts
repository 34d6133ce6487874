import type { Backend, LayerCache, Tensor } from '@kvsieve/core';
import type { ModelConfig } from './config.js';
import type { LayerWeights } from './weights.js';

/**
 * One decoder layer over a run of tokens (a prefill chunk or a decode step): attention through the
 * layer's cache, to which the tokens' keys and values are appended first, then the MLP. Returns
 * the layer's output `[n, D]` and the tokens' post-RoPE queries `[n, H, d]` (the caller disposes
 * both).
 */
export function decoderLayer(
  b: Backend,
  c: ModelConfig,
  w: LayerWeights,
  invFreq: Tensor,
  cache: LayerCache,
  x: Tensor,
  positions: Int32Array,
): { out: Tensor; queries: Tensor } {
  const n = x.shape[0]!;
  const { numHeads: H, numKvHeads: Hkv, headDim: d } = c;
  const pos = b.upload(positions, [n], 'i32', 'positions');
  const h = b.rmsnorm(x, w.attnNorm, c.rmsEps);
  const project = (
    weight: Tensor,
    bias: Tensor | undefined,
    heads: number,
    norm: Tensor | undefined,
    name: string,
  ): Tensor => {
    let t = b.matmul(h, weight, { transposeB: true });
    if (bias) t = swap(t, b.add(t, bias));
    if (norm) t = swap(t, b.rmsnorm(t.reshape([n * heads, d]), norm, c.rmsEps));
    return t.reshape([n, heads, d], name);
  };
  const q0 = project(w.wq, w.bq, H, w.qNorm, 'q');
  const k0 = project(w.wk, w.bk, Hkv, w.kNorm, 'k');
  const v = project(w.wv, w.bv, Hkv, undefined, 'v');
  h.dispose();
  const q = b.rope(q0, pos, invFreq, c.ropeStyle);
  const k = b.rope(k0, pos, invFreq, c.ropeStyle);
  q0.dispose();
  k0.dispose();
  cache.append(k, v, positions);
  k.dispose();
  v.dispose();
  const att = b.raggedAttention(q, cache.view(), pos, attentionOpts(c));
  pos.dispose();
  const o = b.matmul(att.reshape([n, H * d]), w.wo, { transposeB: true });
  att.dispose();
  const x1 = b.add(x, o);
  o.dispose();
  const h2 = b.rmsnorm(x1, w.ffnNorm, c.rmsEps);
  const gate = b.matmul(h2, w.gate, { transposeB: true });
  const up = b.matmul(h2, w.up, { transposeB: true });
  h2.dispose();
  const act = b.siluMul(gate, up);
  gate.dispose();
  up.dispose();
  const down = b.matmul(act, w.down, { transposeB: true });
  act.dispose();
  const out = b.add(x1, down);
  x1.dispose();
  down.dispose();
  return { out, queries: q };
}

/** The model's attention as the backend applies it: a sliding window when it has one. */
export function attentionOpts(c: ModelConfig): { slidingWindow?: number } {
  return c.slidingWindow > 0 ? { slidingWindow: c.slidingWindow } : {};
}

function swap(old: Tensor, next: Tensor): Tensor {
  old.dispose();
  return next;
}
