// The scale-out tests (`npm run test:scale`): they start redis-server and worker processes, so they
// run apart from `npm test`, which needs no Redis.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/scale/**/*.test.ts'],
    pool: 'forks',
    // One file at a time: the files share the machine's 2 cores with the worker processes they start.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
