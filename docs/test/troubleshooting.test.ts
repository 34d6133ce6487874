// The troubleshooting guide promises every typed error class a section: this walks every public
// package's exports and fails for a KvsieveError subclass the page does not name.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KvsieveError } from '@kvsieve/core';
import { expect, it } from 'vitest';

const docs = dirname(dirname(fileURLToPath(import.meta.url)));
const page = readFileSync(join(docs, 'guide/troubleshooting.md'), 'utf8');
const headings = new Set([...page.matchAll(/^### (\w+)$/gm)].map((m) => m[1]));

it('names every exported KvsieveError subclass', async () => {
  const packages = join(dirname(docs), 'packages');
  const found: string[] = [];
  for (const dir of readdirSync(packages)) {
    const pkg = JSON.parse(readFileSync(join(packages, dir, 'package.json'), 'utf8'));
    if (pkg.private) continue;
    const mod = await import(pkg.name);
    for (const [name, value] of Object.entries(mod)) {
      if (
        typeof value === 'function' &&
        (value === KvsieveError || value.prototype instanceof KvsieveError)
      ) {
        found.push(name);
      }
    }
  }
  expect(found.length).toBeGreaterThan(15);
  expect(found.filter((n) => !headings.has(n))).toEqual([]);
});
