// The project's vitest config plus a setup file that checks each fork runs the sanitized addon.
import { fileURLToPath } from 'node:url';

import { defineConfig, mergeConfig } from 'vitest/config';

import base from '../vitest.config.mts';

export default mergeConfig(
  base,
  defineConfig({
    root: fileURLToPath(new URL('..', import.meta.url)),
    test: { setupFiles: [fileURLToPath(new URL('./asan-setup.ts', import.meta.url))] },
  }),
);
