import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Never run compiled copies in dist/.
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // 2 cores: more forks only thrash.
    maxWorkers: 2,
  },
});
