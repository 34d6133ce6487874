import { runReadmeExample } from '@kvsieve/test-utils';
import { expect, it } from 'vitest';

it('the README example is this package test/readme-example.ts, and it runs', async () => {
  const calls = await runReadmeExample(import.meta.url);
  expect(calls).toHaveLength(1);
  const [computed, report] = calls[0]! as [{ tokens: number; note: string }[], { pivot: number }];
  expect(computed.map((c) => c.tokens)).toEqual([48, 48, 20]);
  expect(computed[1]!.note).toBe(
    'pivot L*=1 (fixed); propagating 20 of 48 tokens to layers 2..2; stored 12 of 48',
  );
  expect(computed[2]!.note).toBe('after pivot 1: computed 20 tokens; stored 12 of 20');
  expect(report.pivot).toBe(1);
});
