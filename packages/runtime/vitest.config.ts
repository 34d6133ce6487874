import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@kvsieve/source'] },
  // Vitest resolves in SSR mode: without this, workspace packages would load from dist.
  ssr: { resolve: { conditions: ['@kvsieve/source'] } },
  // Forks: Dawn's native module (WebGPU tests) is happier in a child process than in a worker thread.
  test: {
    name: 'runtime',
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 120_000,
    pool: 'forks',
  },
});
