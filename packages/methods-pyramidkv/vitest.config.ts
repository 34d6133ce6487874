import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@kvsieve/source'] },
  ssr: { resolve: { conditions: ['@kvsieve/source'] } },
  test: { name: 'methods-pyramidkv', include: ['test/**/*.test.ts'], testTimeout: 60_000 },
});
