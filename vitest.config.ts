import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Bundles workers/*.ts and test/workers/*.ts into .test-build/ (Node 20 cannot run .ts workers).
    globalSetup: ['test/global-setup.ts'],
    // Child processes: tests start their own worker_threads and block in Atomics.wait.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
