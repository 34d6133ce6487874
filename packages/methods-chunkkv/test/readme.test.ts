import { readFileSync } from 'node:fs';
import { expect, it, vi } from 'vitest';

it('the README example is this package test/readme-example.ts, and it runs', async () => {
  const example = readFileSync(new URL('./readme-example.ts', import.meta.url), 'utf8');
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  expect(readme).toContain(example.trim());
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  await import('./readme-example.js');
  expect(log).toHaveBeenCalledTimes(1);
  const keeps = log.mock.calls[0]![2] as Int32Array[][];
  expect(keeps).toHaveLength(2);
  // 2 whole chunks of 4 + 2 leftover tokens + the 2-token window, the same in both KV heads and layers.
  for (const keep of keeps) for (const head of keep) expect([...head]).toEqual([...keeps[0]![0]!]);
  expect(keeps[0]![0]!.length).toBe(12);
  log.mockRestore();
});
