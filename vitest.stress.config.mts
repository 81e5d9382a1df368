import { defineConfig } from "vitest/config";

// npm run test:stress: the load, fault and property suites (test/stress), run by CI too.
export default defineConfig({
  test: {
    include: ["test/stress/**/*.stress.test.ts"],
    testTimeout: 300_000,
    hookTimeout: 60_000,
    pool: "forks",
    setupFiles: ["test/support/asan-setup.ts"],
    fileParallelism: false,
    // gc() between batches, and a fixed young generation: V8 otherwise grows it in steps under
    // a high allocation rate, which moves RSS by megabytes and would hide a small native leak.
    execArgv: ["--expose-gc", "--min-semi-space-size=16", "--max-semi-space-size=16"],
  },
});
