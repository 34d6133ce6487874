import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWebGpuBackend, measureCopyBandwidth } from '@kvsieve/kernels-webgpu';
import { sharedDir } from '@kvsieve/test-utils';
import { describe, expect, it } from 'vitest';
import { LlamaCppBaseline } from '../bench/gpu/llama-cpp.js';
import { type BenchRow, runGpuBench } from '../bench/gpu/run.js';
import { benchShape, SHAPE_NAMES, shapeByName } from '../bench/gpu/shapes.js';
import { derive, markdownTable } from '../bench/gpu/table.js';
import { ARCH_SPECS } from './fixtures/arch-gguf.js';
import { llama3Vocab, qwen3Vocab, SMOLLM2_DIR } from './fixtures/bpe-gguf.js';

/** A WebGPU backend, or why there is none (then the GPU tests skip, saying so). */
async function adapterOrReason(): Promise<string | null> {
  try {
    (await createWebGpuBackend()).destroy();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

describe('GPU bench shapes', () => {
  it('have the published models’ depths and vocabulary sizes', () => {
    expect(SHAPE_NAMES).toEqual(['SmolLM2-135M', 'Qwen2.5-0.5B', 'Llama-3.2-1B']);
    expect(shapeByName('Llama-3.2-1B').vocabSize).toBe(llama3Vocab().files.modelConfig!.vocab_size);
    expect(shapeByName('Qwen2.5-0.5B').vocabSize).toBe(qwen3Vocab().files.modelConfig!.vocab_size);
    const config = join(sharedDir(), SMOLLM2_DIR, 'config.json');
    if (!existsSync(config)) return console.warn(`[skip] SmolLM2's config check: ${config} is absent`);
    const c = JSON.parse(readFileSync(config, 'utf8'));
    const s = shapeByName('SmolLM2-135M');
    expect([s.layers, s.vocabSize, s.spec.hidden, s.spec.heads, s.spec.kvHeads, s.spec.ffn]).toEqual([
      c.num_hidden_layers,
      c.vocab_size,
      c.hidden_size,
      c.num_attention_heads,
      c.num_key_value_heads,
      c.intermediate_size,
    ]);
  });
});

describe('GPU bench on a tiny shape', () => {
  it('prints a row per configuration with finite positive numbers, and a failed one in its row', async (ctx) => {
    const none = await adapterOrReason();
    if (none) {
      console.warn(`[skip] GPU bench: no WebGPU adapter (${none})`);
      ctx.skip();
      return;
    }
    const smol = ARCH_SPECS.find((s) => s.name === 'SmolLM2-135M')!;
    // Rows of 256 so that Q4_K is written as Q4_K, not a fallback type.
    const tiny = benchShape({ ...smol, hidden: 256, heads: 4, kvHeads: 2, ffn: 512 }, 2, 1024, 'tiny');
    const dir = mkdtempSync(join(tmpdir(), 'kvsieve-gpu-bench-test-'));
    let backends = 0;
    try {
      const probe = await createWebGpuBackend();
      const copy = await measureCopyBandwidth(probe.device, { bytes: 8 * 2 ** 20, repetitions: 2 });
      probe.destroy();
      const rows: BenchRow[] = await runGpuBench({
        shapes: [tiny],
        types: ['F16', 'Q4_K'],
        contexts: [48],
        decode: 3,
        budgetRatio: 1 / 8,
        dir,
        // The first backend fails as an out-of-memory would: that row says so and the run goes on.
        backend: async () => {
          if (backends++ === 0) throw new Error('simulated: out of memory');
          return createWebGpuBackend();
        },
        baseline: new LlamaCppBaseline('not in tests'),
        progress: () => {},
      });
      expect(copy.gbPerSecond).toBeGreaterThan(0);
      expect(Number.isFinite(copy.gbPerSecond)).toBe(true);
      const derived = derive(rows, copy.gbPerSecond);
      expect(derived.map((r) => `${r.weights} ${r.cache}`)).toEqual([
        'F16 full',
        'F16 snapkv 1/8',
        'Q4_K full',
        'Q4_K snapkv 1/8',
      ]);
      expect(derived[0]!.error).toBe('simulated: out of memory');
      for (const r of derived.slice(1)) {
        expect(r.error).toBeUndefined();
        for (const x of [
          r.prefillTokensPerSecond,
          r.decodeTokensPerSecond,
          r.bytesPerToken,
          r.achievedGbPerSecond,
          r.percentOfCopy,
        ]) {
          expect(Number.isFinite(x) && x! > 0).toBe(true);
        }
        expect(r.bytesPerToken).toBe(r.weightBytes! + r.kvBytes!);
      }
      // SnapKV keeps 1/8 of the prompt per KV head, so it holds fewer cache bytes than the full cache.
      expect(derived[3]!.kvBytes!).toBeLessThan(derived[2]!.kvBytes!);
      expect(derived[3]!.decodeVsFull! > 0).toBe(true);
      const table = markdownTable(derived);
      expect(table).toHaveLength(2 + 4);
      expect(table[2]).toContain('FAILED: simulated: out of memory');
      expect(table.slice(3).every((l) => l.startsWith('| tiny |') && !l.includes('NaN'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
