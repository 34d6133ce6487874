import { type Backend, type KVCache, type ModelInfo, OptionError, type Tensor } from '@kvsieve/core';
import { NumericalError } from '../errors.js';
import { attentionOpts, decoderLayer } from './block.js';
import type { ModelConfig } from './config.js';
import { checkIds } from './layer-pass.js';
import type { ModelWeights } from './weights.js';

/** What the prefill engine and the decode session need of a loaded model. */
export interface ModelParts {
  readonly backend: Backend;
  readonly config: ModelConfig;
  readonly info: ModelInfo;
  readonly weights: ModelWeights;
  /** Rotary inverse frequencies, `[ropeDim / 2]`. */
  readonly invFreq: Tensor;
  /** The file or folder the model came from, for messages. */
  readonly source: string;
}

/** Logits `[1, vocab]` of hidden row `row` of `x [n, D]`, left on the device. */
function headLogits(m: ModelParts, x: Tensor, row: number): Tensor {
  const b = m.backend;
  // A decode step's x is that one row already: no gather.
  let last = x;
  if (x.shape[0] !== 1) {
    const idx = b.upload([row], [1], 'i32', 'last row');
    last = b.gatherRows(x, idx);
    idx.dispose();
  }
  const [logits] = b.matmulMany(last, [m.weights.lmHead], {
    rmsnorm: { weight: m.weights.finalNorm, eps: m.config.rmsEps },
  }) as [Tensor];
  if (last !== x) last.dispose();
  return logits;
}

/** Next-token logits of hidden row `row` of `x`, read to the host; non-finite logits are refused. */
export async function readLogits(
  m: ModelParts,
  x: Tensor,
  row: number,
  position: number,
): Promise<Float32Array> {
  const t = headLogits(m, x, row);
  let logits: Float32Array;
  try {
    logits = await t.readF32();
  } finally {
    t.dispose();
  }
  assertFinite(m, logits, (i) => i, position);
  return logits;
}

/**
 * Non-finite logits are refused: they mean the weights or the activations overflowed, and every
 * token after them would be noise. `idOf(i)`: the token id of `logits[i]`.
 */
function assertFinite(m: ModelParts, logits: Float32Array, idOf: (i: number) => number, position: number) {
  for (let i = 0; i < logits.length; i++) {
    if (!Number.isFinite(logits[i]!)) {
      throw new NumericalError(
        `${m.source}: the logits after position ${position} are not finite (${logits[i]} at token id ${idOf(i)}); the model's weights or activations overflowed — check the file (a corrupt or wrongly converted model), or compare with --backend cpu`,
      );
    }
  }
}

/** The greedy next token of hidden row `row`, chosen on the device: only one integer is read back. */
export async function argmaxToken(m: ModelParts, x: Tensor, row: number): Promise<number> {
  const logits = headLogits(m, x, row);
  const top = m.backend.topk(logits, 1);
  logits.dispose();
  try {
    return (await top.readI32())[0]!;
  } finally {
    top.dispose();
  }
}

/**
 * The `k` most likely next tokens of hidden row `row` (most likely first, ties to the lower id) and
 * their logits, chosen on the device: 8·k bytes are read back instead of the vocabulary's logits.
 */
export async function topCandidates(
  m: ModelParts,
  x: Tensor,
  row: number,
  k: number,
  position: number,
): Promise<{ ids: Int32Array; logits: Float32Array }> {
  const b = m.backend;
  const logits = headLogits(m, x, row);
  const top = b.topk(logits, Math.min(k, logits.shape[1]!));
  const n = top.shape[1]!;
  const flatIds = top.reshape([n]);
  const values = b.gatherRows(logits.reshape([logits.shape[1]!, 1]), flatIds);
  logits.dispose();
  try {
    const [ids, v] = await Promise.all([top.readI32(), values.readF32()]);
    assertFinite(m, v, (i) => ids[i]!, position);
    return { ids, logits: v };
  } finally {
    top.dispose();
    values.dispose();
  }
}

/**
 * One token through every layer: its keys and values are appended to each layer's cache at
 * `position`. Returns the last hidden state `[1, D]` and, with `withAttention`, per layer the
 * attention mass the token's queries put on each cache row (the backend's `attentionMass`, f32
 * `[rows]`). The caller disposes all of them.
 */
export function decodeForward(
  m: ModelParts,
  cache: KVCache,
  token: number,
  position: number,
  withAttention: boolean,
): { x: Tensor; attention: Tensor[] } {
  checkIds(m.config, [token], 'step');
  if (position >= m.config.maxPositions) {
    throw new OptionError(
      `step: position ${position} is beyond the model's ${m.config.maxPositions} positions`,
    );
  }
  const b = m.backend;
  const id = b.upload([token], [1], 'i32', 'token');
  let x = b.embedding(m.weights.embed, id);
  id.dispose();
  const pos = Int32Array.of(position);
  const attention: Tensor[] = [];
  const posT = b.upload(pos, [1], 'i32', 'position');
  try {
    for (let l = 0; l < m.config.numLayers; l++) {
      const { out, queries } = decoderLayer(
        b,
        m.config,
        m.weights.layers[l]!,
        m.invFreq,
        cache.layer(l),
        x,
        pos,
        posT,
      );
      // The layer's view still holds exactly what the token attended to (nothing appended since).
      if (withAttention)
        attention.push(b.attentionMass(queries, cache.layer(l).view(), posT, attentionOpts(m.config)));
      queries.dispose();
      x.dispose();
      x = out;
    }
    return { x, attention };
  } catch (e) {
    x.dispose();
    for (const t of attention) t.dispose();
    throw e;
  } finally {
    posT.dispose();
  }
}
