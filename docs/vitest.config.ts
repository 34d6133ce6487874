import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineProject } from 'vitest/config';

// docs/ is not a workspace package, so its examples cannot resolve @kvsieve/* through
// node_modules: map each public package to its TypeScript source, as the packages' own tests
// load each other (the @kvsieve/source condition), so no build is needed.
const packages = fileURLToPath(new URL('../packages/', import.meta.url));
const alias = readdirSync(packages).flatMap((dir) => {
  try {
    const { name } = JSON.parse(readFileSync(`${packages}${dir}/package.json`, 'utf8'));
    return [
      { find: new RegExp(`^${name.replace('/', '\\/')}$`), replacement: `${packages}${dir}/src/index.ts` },
    ];
  } catch {
    return [];
  }
});

export default defineProject({
  resolve: { alias, conditions: ['@kvsieve/source'] },
  ssr: { resolve: { conditions: ['@kvsieve/source'] } },
  test: { name: 'docs', include: ['test/**/*.test.ts'], testTimeout: 120_000 },
});
