import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CompressionMethod, CpuBackend, type DecodeContext, METHOD_SPEC } from '@kvsieve/core';
import { byteLevelTokenizerJson, loadModel, type Model, writeRandomModel } from '@kvsieve/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  calibrate,
  kvHeadScores,
  makeProbe,
  probeSpec,
  surfacelogickv,
  twoStageAllocation,
} from '../src/index.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function randomModel(heads: number, kvHeads: number, seed: number): Promise<Model> {
  const dir = mkdtempSync(join(tmpdir(), 'slkv-runtime-'));
  dirs.push(dir);
  writeRandomModel(dir, {
    config: {
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 3,
      num_attention_heads: heads,
      num_key_value_heads: kvHeads,
      vocab_size: 260,
      max_position_embeddings: 256,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      tie_word_embeddings: false,
    },
    tokenizer: byteLevelTokenizerJson(3),
    seed,
  });
  return loadModel(dir, { backend: new CpuBackend() });
}

function argmax(x: ArrayLike<number>, from = 0, to = x.length): number {
  let best = from;
  for (let i = from + 1; i < to; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

/** A method that keeps everything and records each decode step's attention mass per cache row. */
function attentionRecorder(
  seen: { mass: Float32Array[]; offsets: Int32Array[]; lengths: Int32Array[] }[],
): CompressionMethod {
  return {
    spec: METHOD_SPEC,
    name: 'attention-recorder',
    options: {},
    begin: () => ({
      observe: { window: 0, decodeAttention: true },
      afterLayer: async () => ({ keep: 'all' }),
      async afterDecodeStep(ctx: DecodeContext) {
        const mass = await Promise.all(ctx.attention!.map((t) => t.readF32()));
        seen.push({ mass, offsets: [...ctx.offsets], lengths: [...ctx.lengths] });
        return undefined;
      },
    }),
  };
}

describe('calibrate through the runtime on a tiny random model', () => {
  let model: Model;
  beforeAll(async () => {
    // No GQA (4 query heads, 4 KV heads): the runtime's per-KV-head attention mass of a decode step
    // is then each query head's own attention row, an independent check of the probe observer.
    model = await randomModel(4, 4, 9);
  });
  afterAll(() => model.dispose());

  it('the counts equal those from decode steps with attention, step by step (greedy)', async () => {
    const lengths = [90, 130];
    const depths = [0.3, 0.7];
    const probes = 3;
    const profile = await calibrate(model, { probes, lengths, depths, answer: 'greedy', seed: 2 });
    const { numLayers, numHeads } = model.info;
    const surface = Array.from({ length: numLayers }, () => new Array<number>(numHeads).fill(0));
    const logic = Array.from({ length: numLayers }, () => new Array<number>(numHeads).fill(0));
    let steps = 0;
    let exact = 0;
    for (let p = 0; p < probes; p++) {
      const probe = makeProbe(model.tokenizer, probeSpec(p, 2, lengths, depths));
      const P = probe.prompt.length;
      // Prefill all but the last prompt token; decoding it gives answer step 0's attention.
      const seen: { mass: Float32Array[]; offsets: Int32Array[]; lengths: Int32Array[] }[] = [];
      const session = await model.start(probe.prompt.slice(0, P - 1), { method: attentionRecorder(seen) });
      let token = probe.prompt[P - 1]!;
      const generated: number[] = [];
      for (let i = 0; i < probe.answer.length; i++) {
        const next = argmax((await session.step(token)).logits!);
        const { mass, offsets, lengths: lengthsNow } = seen[i]!;
        for (let l = 0; l < numLayers; l++) {
          for (let h = 0; h < numHeads; h++) {
            const o = offsets[l]![h]!;
            const j = argmax(mass[l]!, o, o + lengthsNow[l]![h]!) - o;
            if (j < probe.needle.start || j >= probe.needle.end) continue;
            if (probe.prompt[j] === next) surface[l]![h]!++;
            else logic[l]![h]!++;
          }
        }
        generated.push(next);
        token = next;
      }
      session.dispose();
      steps += probe.answer.length;
      if (generated.every((t, i) => t === probe.answer[i])) exact++;
    }
    expect(profile.probes.exactAnswers).toBe(exact);
    expect(profile.heads.map((r) => r.map((h) => h.steps))).toEqual(surface.map((r) => r.map(() => steps)));
    expect(profile.heads.map((r) => r.map((h) => Math.round(h.surface * steps)))).toEqual(surface);
    expect(profile.heads.map((r) => r.map((h) => Math.round(h.logic * steps)))).toEqual(logic);
    // The random heads do look at the needle sometimes, or this check would prove little.
    expect(
      logic.flat().reduce((a, b) => a + b, 0) + surface.flat().reduce((a, b) => a + b, 0),
    ).toBeGreaterThan(0);
  });

  it('is deterministic for a seed', async () => {
    const opts = { probes: 2, lengths: [80], depths: [0.5], answer: 'teacher' as const, seed: 4 };
    const a = await calibrate(model, opts);
    const b = await calibrate(model, opts);
    expect(b.heads).toEqual(a.heads);
    expect(b.infsc).toEqual(a.infsc);
  });
});

describe('surfacelogickv through the runtime (GQA: 4 query heads, 2 KV heads)', () => {
  it('each KV head keeps the window plus its planned share, and the layer total follows the profile', async () => {
    const model = await randomModel(4, 2, 3);
    const profile = await calibrate(model, {
      probes: 4,
      lengths: [100],
      depths: [0.2, 0.8],
      answer: 'teacher',
    });
    const prompt = Array.from({ length: 120 }, (_, i) => (i * 37 + 11) % 256);
    const method = surfacelogickv({ budget: 30, window: 6, profile, base: 0.25 });
    const pre = await model.start(prompt, { method });
    const plan = twoStageAllocation({
      scores: kvHeadScores(profile.infsc, 2),
      prefixBudget: 24,
      base: 6,
      cap: 114,
    });
    for (let l = 0; l < 3; l++) {
      expect([...pre.layers[l]!.kept]).toEqual([...plan[l]!].map((b) => b + 6));
      const positions = await pre.cache.layer(l).positions();
      for (const p of positions) expect([...p.slice(-6)]).toEqual([114, 115, 116, 117, 118, 119]);
    }
    const kept = pre.layers.flatMap((l) => [...l.kept]);
    expect(kept.reduce((a, b) => a + b, 0)).toBe(30 * 2 * 3);
    // Stage 1 floor: every head keeps at least its base (6) beside the window.
    expect(Math.min(...kept)).toBeGreaterThanOrEqual(12);
    // The profile is not flat, so neither is the allocation.
    expect(new Set(kept).size).toBeGreaterThan(1);
    pre.dispose();
    model.dispose();
  });
});
