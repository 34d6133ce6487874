import { runReadmeExample } from '@kvsieve/test-utils';
import { expect, it } from 'vitest';

it('the README example is this package test/readme-example.ts, and it runs', async () => {
  const calls = await runReadmeExample(import.meta.url);
  expect(calls).toHaveLength(1);
  const keep = calls[0]![2] as Int32Array[];
  expect(keep).toHaveLength(1);
  expect(keep[0]!.length).toBeGreaterThanOrEqual(1);
});

it('the README decode example is test/readme-decode-example.ts, and its cache stays at one allocation', async () => {
  const calls = await runReadmeExample(import.meta.url, 'readme-decode-example.ts');
  expect(calls).toHaveLength(1);
  expect(calls[0]).toEqual(['h2o-decode', [2 * 2 * 80 * 68]]);
});
