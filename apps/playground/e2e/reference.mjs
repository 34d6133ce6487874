// What @kvsieve/runtime computes in Node for the page's run: greedy tokens with the full cache and
// with SnapKV, and the positions each layer and KV head keeps (as `kvsieve inspect` reads them).
// Uses the packages' built dist (CPU backend, f32 cache, as the page).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMethod } from '@kvsieve/methods-snapkv';
import { argmax, loadModel } from '@kvsieve/runtime';

const model = join(dirname(fileURLToPath(import.meta.url)), '../../../models/kvsieve-recall');

async function greedy(m, ids, method, maxTokens) {
  const t0 = performance.now();
  const session = await m.start(ids, { kvDtype: 'f32', ...(method ? { method } : {}) });
  const prefill = ids.length / ((performance.now() - t0) / 1000);
  try {
    const kept = [];
    const sets = [];
    for (const st of session.layers) {
      const heads = await session.cache.layer(st.layer).positions();
      kept.push(heads.map((p) => p.length).join(','));
      sets.push([...heads[0]].sort((a, b) => a - b).join(','));
    }
    const eos = new Set(m.tokenizer.eosIds);
    const tokens = [];
    let token = argmax(session.logits);
    const t1 = performance.now();
    for (let i = 0; i < maxTokens && !eos.has(token); i++) {
      tokens.push(token);
      if (i + 1 < maxTokens) token = (await session.step(token, { readout: 'argmax' })).token;
    }
    const decode = (tokens.length - 1) / ((performance.now() - t1) / 1000);
    return {
      tokens,
      kept,
      sets,
      speed: `prefill ${prefill.toFixed(1)} tok/s, decode ${decode.toFixed(1)} tok/s`,
    };
  } finally {
    session.dispose();
  }
}

export async function nodeReference(prompt, options, maxTokens) {
  const m = await loadModel(model);
  try {
    const ids = m.tokenizer.encode(prompt);
    const full = await greedy(m, ids, null, maxTokens);
    const snap = await greedy(m, ids, createMethod(options), maxTokens);
    return {
      full: full.tokens,
      snap: snap.tokens,
      kept: snap.kept,
      sets: [snap.sets[0], snap.sets[3]],
      promptTokens: ids.length,
      speed: { full: full.speed, snap: snap.speed },
    };
  } finally {
    m.dispose();
  }
}
