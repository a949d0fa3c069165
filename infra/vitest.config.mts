import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    // The live suite starts five services, a Prometheus, an Alertmanager and a Redis exporter.
    hookTimeout: 180_000,
  },
});
