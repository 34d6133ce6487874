import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@kvsieve/source'] },
  // Vitest resolves in SSR mode: without this, workspace packages would load from (stale) dist.
  ssr: { resolve: { conditions: ['@kvsieve/source'] } },
  test: { name: 'core', include: ['test/**/*.test.ts', 'src/**/*.test.ts'], testTimeout: 60_000 },
});
