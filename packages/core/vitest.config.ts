import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@kvsieve/source'] },
  test: { name: 'core', include: ['test/**/*.test.ts', 'src/**/*.test.ts'] },
});
