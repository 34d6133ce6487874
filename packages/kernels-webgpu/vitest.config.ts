import { defineProject } from 'vitest/config';

// Dawn's native module is happier in a child process than in a worker thread.
export default defineProject({
  resolve: { conditions: ['@kvsieve/source'] },
  // Vitest resolves in SSR mode: without this, workspace packages would load from (stale) dist.
  ssr: { resolve: { conditions: ['@kvsieve/source'] } },
  test: {
    name: 'kernels-webgpu',
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
  },
});
