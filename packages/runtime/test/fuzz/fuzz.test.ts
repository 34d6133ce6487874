import { describe, expect, it } from 'vitest';
import { ggufFormat, safetensorsFormat } from './formats-binary.js';
import { indexFormat, jsonFormat } from './formats-folder.js';
import { type FuzzFormat, type FuzzStats, runFormat } from './harness.js';

/**
 * A short fuzz run in the default suite (the long one: `pnpm --filter @kvsieve/runtime fuzz`).
 * Every mutated file must load with tensors equal to its bytes, or fail with a typed one-line
 * error and nothing allocated, within the per-case time limit. The seed is fixed so the suite is
 * repeatable; KVSIEVE_FUZZ_SEED picks another.
 */
const SEED = Number(process.env.KVSIEVE_FUZZ_SEED ?? 13);

function report(s: FuzzStats): string {
  return s.others.map((o) => `${o.detail}\n    case: ${o.case}`).join('\n');
}

describe('mutated model files load correctly or fail with a typed error', () => {
  const formats: [string, () => FuzzFormat<never>, number][] = [
    ['GGUF (GgufFile and loadModel)', ggufFormat as () => FuzzFormat<never>, 1200],
    ['safetensors (SafetensorsSource and loadModel)', safetensorsFormat as () => FuzzFormat<never>, 800],
    ['model.safetensors.index.json and its shards', indexFormat as () => FuzzFormat<never>, 500],
    [
      'config.json, tokenizer.json, tokenizer_config.json, generation_config.json',
      jsonFormat as () => FuzzFormat<never>,
      500,
    ],
  ];
  it.each(formats)('%s', async (_, make, runs) => {
    const format = make();
    try {
      const s = await runFormat(format, runs, SEED);
      expect(s.cases).toBe(runs);
      expect(s.other, report(s)).toBe(0);
      // Both outcomes must occur, or the mutations are not reaching the checks.
      expect(s.typed).toBeGreaterThan(runs / 10);
      expect(s.loaded).toBeGreaterThan(0);
    } finally {
      format.dispose();
    }
  });
});
