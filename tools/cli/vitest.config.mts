import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The suites start a gateway and an ai-proxy as processes; under a full parallel `pnpm test`
    // that alone can take tens of seconds.
    testTimeout: 60_000,
    hookTimeout: 150_000,
  },
});
