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
  /** `positions` already on the backend (a decode step uploads them once for every layer). */
  uploaded?: Tensor,
): { out: Tensor; queries: Tensor } {
  const n = x.shape[0]!;
  const { numHeads: H, numKvHeads: Hkv, headDim: d } = c;
  const pos = uploaded ?? b.upload(positions, [n], 'i32', 'positions');
  // The input norm, Q, K and V in one call: a GPU backend does them in one pass (Backend.matmulMany).
  const [qp, kp, vp] = b.matmulMany(x, [w.wq, w.wk, w.wv], {
    rmsnorm: { weight: w.attnNorm, eps: c.rmsEps },
  }) as [Tensor, Tensor, Tensor];
  const finish = (
    product: Tensor,
    bias: Tensor | undefined,
    heads: number,
    norm: Tensor | undefined,
    name: string,
  ): Tensor => {
    let t = product;
    if (bias) t = swap(t, b.add(t, bias));
    if (norm) t = swap(t, b.rmsnorm(t.reshape([n * heads, d]), norm, c.rmsEps));
    return t.reshape([n, heads, d], name);
  };
  const q0 = finish(qp, w.bq, H, w.qNorm, 'q');
  const k0 = finish(kp, w.bk, Hkv, w.kNorm, 'k');
  const v = finish(vp, w.bv, Hkv, undefined, 'v');
  const q = b.rope(q0, pos, invFreq, c.ropeStyle);
  const k = b.rope(k0, pos, invFreq, c.ropeStyle);
  q0.dispose();
  k0.dispose();
  cache.append(k, v, positions);
  k.dispose();
  v.dispose();
  const att = b.raggedAttention(q, cache.view(), pos, attentionOpts(c));
  if (pos !== uploaded) pos.dispose();
  // Skip connections ride on the projections (MatmulOptions.residual): no add pass of their own.
  const x1 = b.matmul(att.reshape([n, H * d]), w.wo, { transposeB: true, residual: x });
  att.dispose();
  const act = b.swiglu(x1, w.gate, w.up, { rmsnorm: { weight: w.ffnNorm, eps: c.rmsEps } });
  const out = b.matmul(act, w.down, { transposeB: true, residual: x1 });
  act.dispose();
  x1.dispose();
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
