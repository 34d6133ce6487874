import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@kvsieve/source'] },
  // Vitest resolves in SSR mode: without this, workspace packages would load from (stale) dist.
  ssr: { resolve: { conditions: ['@kvsieve/source'] } },
  test: {
    name: 'kernels-wasm',
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // Tests run on the sources, but the kernels are C: rebuild wasm/ first when a C file changed.
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 120_000,
    // Hooks compile WebAssembly modules, which takes seconds on a busy machine.
    hookTimeout: 120_000,
  },
});
