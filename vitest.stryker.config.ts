import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * For mutation testing: only the suites that exercise the files at hand (not mergeConfig, which
 * would append these to the base config's `test/**` and run every suite for every mutant). The
 * default is the secret and inspection code's suites; for other files name them:
 *   STRYKER_TESTS=test/unit/a.test.ts,test/grants/b.test.ts npx stryker run --mutate src/…
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: process.env.STRYKER_TESTS?.split(',') ?? [
      'test/unit/secret.test.ts',
      'test/unit/inspector.test.ts',
      'test/unit/pending-flow.test.ts',
      'test/client/**/*.test.ts',
    ],
  },
});
