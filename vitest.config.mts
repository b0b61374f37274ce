import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/scale needs a Redis server: `npm run test:scale` runs it.
    exclude: [...configDefaults.exclude, 'test/scale/**'],
    // Each file in its own process: native addons and worker_threads are unsafe in vitest's threads pool.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
