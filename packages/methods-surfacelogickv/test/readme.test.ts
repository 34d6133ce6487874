import { runReadmeExample } from '@kvsieve/test-utils';
import { expect, it } from 'vitest';

it('the README example is this package test/readme-example.ts, and it runs', async () => {
  const calls = await runReadmeExample(import.meta.url);
  expect(calls).toHaveLength(2);
  expect(calls[0]![0]).toMatchObject({ heads: 8 });
  const kept = calls[1]![0] as number[][];
  expect(kept).toHaveLength(2);
  // 24 tokens per KV head on average: 24 × 2 KV heads × 2 layers in all.
  expect(kept.flat().reduce((a, b) => a + b, 0)).toBe(96);
});
