import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each file in its own process: native addons and worker_threads are unsafe in vitest's threads pool.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
