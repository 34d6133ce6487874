import { runReadmeExample } from '@kvsieve/test-utils';
import { expect, it } from 'vitest';

it('the README example is this package test/readme-example.ts, and it runs', async () => {
  const calls = await runReadmeExample(import.meta.url);
  expect(calls).toHaveLength(1);
  const keeps = calls[0]![2] as Int32Array[][];
  expect(keeps).toHaveLength(2);
  // 2 whole chunks of 4 + 2 leftover tokens + the 2-token window, the same in both KV heads and layers.
  for (const keep of keeps) for (const head of keep) expect([...head]).toEqual([...keeps[0]![0]!]);
  expect(keeps[0]![0]!.length).toBe(12);
});
