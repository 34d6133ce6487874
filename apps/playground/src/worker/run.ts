import { argmax, type DecodeSession, type Model } from '@kvsieve/runtime';
import { createMethod } from './methods.js';
import type { LayerKept, RunResult, RunSpec } from './protocol.js';
import { recordWindowScores, type WindowScores } from './window-scores.js';

export interface RunHooks {
  onLayer(layer: number, layers: number): void;
  onKept(layers: LayerKept[]): void;
  onToken(token: number, text: string): void;
  /** Checked before every decode step: the page's stop button. */
  stopped(): boolean;
}

/**
 * Display text of each prompt token, spaces included: the text a token adds after the one before
 * it (decoding pairs, so WordPiece's "##" joins, SentencePiece's "▁" and byte-level BPE's "Ġ" all
 * come out as the tokenizer means them). Tokens that decode to nothing (BOS) show their piece.
 */
export function tokenPieces(model: Model, ids: readonly number[]): string[] {
  const t = model.tokenizer;
  return ids.map((id, i) => {
    let text = t.decode([id]);
    if (i > 0) {
      const before = t.decode([ids[i - 1]!]);
      const both = t.decode([ids[i - 1]!, id]);
      if (both.startsWith(before)) text = both.slice(before.length);
    }
    return text === '' ? t.piece(id) : text;
  });
}

/** Original positions each layer and KV head kept after prefill (what `kvsieve inspect` prints). */
async function keptLayers(session: DecodeSession, scores: WindowScores): Promise<LayerKept[]> {
  const out: LayerKept[] = [];
  for (const st of session.layers) {
    out.push({
      layer: st.layer,
      tokens: st.tokens,
      ...(st.note ? { note: st.note } : {}),
      ...(st.propagated !== undefined ? { propagated: st.propagated } : {}),
      heads: await session.cache.layer(st.layer).positions(),
      ...(scores.has(st.layer) ? { scores: scores.get(st.layer)! } : {}),
    });
  }
  return out;
}

/**
 * Prefill `ids` with one cache configuration and decode greedily (top-1 on the device, as
 * `kvsieve run` does), streaming tokens. The kept positions are read right after prefill, before
 * decode appends to every head. f32 KV cache everywhere, so a run in the page keeps the same
 * entries as the runtime in Node.
 */
export async function runOne(
  model: Model,
  ids: readonly number[],
  spec: RunSpec,
  o: { maxTokens: number; decodeBudget?: number },
  hooks: RunHooks,
): Promise<RunResult> {
  const scores: WindowScores = new Map();
  const method =
    spec.method === null
      ? null
      : recordWindowScores(createMethod(spec.method, spec.options), ids.length, scores);
  const t0 = performance.now();
  const session = await model.start(ids, {
    kvDtype: 'f32',
    ...(method ? { method } : {}),
    ...(o.decodeBudget ? { decodeBudget: o.decodeBudget } : {}),
    onLayer: hooks.onLayer,
  });
  try {
    const prefillSeconds = (performance.now() - t0) / 1000;
    hooks.onKept(await keptLayers(session, scores));
    const keptBytes = session.usedBytes();
    const eos = new Set(model.tokenizer.eosIds);
    const tokens: number[] = [];
    let text = '';
    let stopReason: RunResult['stopReason'] = 'max-tokens';
    let token = argmax(session.logits);
    let steps = 0;
    const t1 = performance.now();
    let yielded = performance.now();
    for (let i = 0; i < o.maxTokens; i++) {
      // A fast backend resolves each step in microtasks, so the worker would never read the page's
      // stop message: give the event loop a turn every 50 ms.
      if (performance.now() - yielded > 50) {
        await new Promise((r) => setTimeout(r, 0));
        yielded = performance.now();
      }
      if (hooks.stopped()) {
        stopReason = 'stopped';
        break;
      }
      if (eos.has(token)) {
        stopReason = 'eos';
        break;
      }
      tokens.push(token);
      // Decode the whole continuation each time: a token may complete a multi-byte character.
      const next = model.tokenizer.decode(tokens);
      hooks.onToken(token, next.slice(text.length));
      text = next;
      if (i + 1 === o.maxTokens) break;
      token = (await session.step(token, { readout: 'argmax' })).token!;
      steps++;
    }
    const decodeSeconds = (performance.now() - t1) / 1000;
    return {
      tokens,
      text,
      stopReason,
      prefillSeconds,
      prefillTokensPerSecond: ids.length / prefillSeconds,
      decodeSeconds,
      decodeTokensPerSecond: steps > 0 ? steps / decodeSeconds : 0,
      fullBytes: model.fullCacheBytes(ids.length, 'f32'),
      keptBytes,
      ...(method ? { resolvedOptions: method.options as Record<string, unknown> } : {}),
    };
  } finally {
    session.dispose();
  }
}
