import { readFileSync } from 'node:fs';
import { expect, it, vi } from 'vitest';

it('the README example is this package test/readme-example.ts, and it runs', async () => {
  const example = readFileSync(new URL('./readme-example.ts', import.meta.url), 'utf8');
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  expect(readme).toContain(example.trim());
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  await import('./readme-example.js');
  expect(log).toHaveBeenCalledTimes(1);
  const keep = log.mock.calls[0]![2] as Int32Array[];
  expect(keep).toHaveLength(1);
  expect(keep[0]!.length).toBeGreaterThanOrEqual(1);
  log.mockRestore();
});

it('the README decode example is test/readme-decode-example.ts, and its cache stays at one allocation', async () => {
  const example = readFileSync(new URL('./readme-decode-example.ts', import.meta.url), 'utf8');
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  expect(readme).toContain(example.trim());
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  await import('./readme-decode-example.js');
  expect(log).toHaveBeenCalledTimes(1);
  expect(log.mock.calls[0]).toEqual(['h2o-decode', [2 * 2 * 80 * 68]]);
  log.mockRestore();
});
