import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // One chain of processes at a time: the soak and the fault tests must not share the CPU.
    fileParallelism: false,
  },
});
