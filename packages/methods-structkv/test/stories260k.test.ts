import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CpuBackend } from '@kvsieve/core';
import { loadModel } from '@kvsieve/runtime';
import { describeShared } from '@kvsieve/test-utils';
import { expect, it } from 'vitest';
import { type StructKVRun, structkv } from '../src/index.js';

const MODEL = 'models/stories260K/stories260K.gguf';
const ESSAY = 'data/paul-graham-essays/hubs.txt';

describeShared('structkv on stories260K with real English text', [MODEL, ESSAY], (shared) => {
  it('finds a pivot online, computes 20% of the prompt after it and stores 10% in every layer', async () => {
    const model = await loadModel(join(shared, MODEL), { backend: new CpuBackend() });
    try {
      const ids = model.tokenizer.encode(readFileSync(join(shared, ESSAY), 'utf8')).slice(0, 480);
      expect(ids).toHaveLength(480);
      const pre = await model.start(ids, { method: structkv() });
      const report = (pre.run as StructKVRun).pivotReport();
      // 5 layers, backward differences: the default range is [2, 3].
      expect([2, 3]).toContain(report.pivot);
      const p = report.pivot!;
      expect(pre.layers.map((l) => l.tokens)).toEqual([...Array(p + 1).fill(480), ...Array(4 - p).fill(96)]);
      for (const layer of pre.layers) expect([...layer.kept]).toEqual([48, 48, 48, 48]);
      expect(report.signals).toHaveLength(p + 1);
      for (const s of report.signals) {
        expect(s.entropy).toBeGreaterThan(0);
        expect(s.entropy).toBeLessThanOrEqual(Math.log(480));
        expect(s.mass).toBeGreaterThan(0);
        expect(s.mass).toBeLessThanOrEqual(1);
      }
      expect(pre.layers[p]!.note).toMatch(new RegExp(`pivot L\\*=${p} .*propagating 96 of 480 tokens`));
      expect(pre.logits.every(Number.isFinite)).toBe(true);
      pre.dispose();
      // A pivot at the last layer has no deeper layer to spare: every layer computes the prompt.
      const last = await model.start(ids, { method: structkv({ pivot: 4 }) });
      expect(last.layers.map((l) => l.tokens)).toEqual([480, 480, 480, 480, 480]);
      expect(last.layers[4]!.note).toMatch(/no deeper layer to propagate to/);
      last.dispose();
    } finally {
      model.dispose();
    }
  });
});
