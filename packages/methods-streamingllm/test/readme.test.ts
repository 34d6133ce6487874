import { runReadmeExample } from '@kvsieve/test-utils';
import { expect, it } from 'vitest';

it('the README example is this package test/readme-example.ts, and it runs', async () => {
  const calls = await runReadmeExample(import.meta.url);
  expect(calls).toHaveLength(1);
  const keep = calls[0]![2] as Int32Array[];
  expect(keep).toHaveLength(1);
  expect(keep[0]!.length).toBeGreaterThanOrEqual(1);
});
