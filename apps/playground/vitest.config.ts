import { defineProject } from 'vitest/config';

// The default suite runs only the pure parts (URL state, option forms, shading); the browser
// end-to-end test is `pnpm --filter playground test:e2e`.
export default defineProject({
  resolve: { conditions: ['@kvsieve/source'] },
  ssr: { resolve: { conditions: ['@kvsieve/source'] } },
  test: { name: 'playground', include: ['test/**/*.test.ts'], testTimeout: 30_000 },
});
