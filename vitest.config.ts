import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['guests/**/*.test.ts', 'kernel/**/*.test.ts', 'userspace/**/*.test.ts', 'protocol/**/*.test.ts', 'cli/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
