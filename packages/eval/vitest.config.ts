import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@kvsieve/source'] },
  // Vitest resolves in SSR mode: without this, workspace packages would load from dist.
  ssr: { resolve: { conditions: ['@kvsieve/source'] } },
  test: { name: 'eval', include: ['test/**/*.test.ts'], testTimeout: 60_000 },
});
