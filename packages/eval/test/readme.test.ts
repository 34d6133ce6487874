import { readFileSync } from 'node:fs';
import { describeShared, repoRoot } from '@kvsieve/test-utils';
import { expect, it, vi } from 'vitest';

describeShared('README example', ['models/stories260K/stories260K.gguf'], () => {
  it('is this package test/readme-example.ts, and it runs', async () => {
    const example = readFileSync(new URL('./readme-example.ts', import.meta.url), 'utf8');
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(example.trim());
    const cwd = process.cwd();
    process.chdir(repoRoot());
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await import('./readme-example.js');
      expect(log).toHaveBeenCalledTimes(1);
      const table = String(log.mock.calls[0]![0]);
      expect(table).toMatch(/^\| method \| budget \|/);
      expect(table).toMatch(/\| snapkv \| 12 tokens \| {2}\| 12\/12\/12\/12\/12 \| \d+\/16 /);
    } finally {
      log.mockRestore();
      process.chdir(cwd);
    }
  });
});
