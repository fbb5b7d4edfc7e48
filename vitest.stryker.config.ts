import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * For mutation testing of the secret and inspection code (src/inspect, src/secret.ts, src/tokens.ts,
 * the pending-flow record and its claim): the suites that exercise them directly. The fuzz suites
 * (minutes per mutant), the browser and the real-inspector suites stay out. For other files name
 * the suites that exercise them: STRYKER_TESTS=test/unit/a.test.ts,test/grants/b.test.ts npx stryker run --mutate …
 */
export default mergeConfig(
  base,
  defineConfig({
    test: {
      include: process.env.STRYKER_TESTS?.split(',') ?? [
        'test/unit/secret.test.ts',
        'test/unit/inspector.test.ts',
        'test/unit/pending-flow.test.ts',
        'test/client/**/*.test.ts',
      ],
    },
  }),
);
