import { defineConfig } from 'vitest/config';
import { SummaryReporter } from './scripts/summary-reporter.js';

export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'docs'],
    reporters: ['default', new SummaryReporter()],
    // WebGPU on lavapipe and llama.cpp references share 2 cores: keep workers few and patient.
    maxWorkers: 2,
    testTimeout: 120_000,
  },
});
