import { defineConfig } from "vitest/config";

// npm run test:stress: the load, fault and property suites (test/stress), run by CI too.
export default defineConfig({
  test: {
    include: ["test/stress/**/*.stress.test.ts"],
    testTimeout: 300_000,
    hookTimeout: 60_000,
    pool: "forks",
    fileParallelism: false,
    execArgv: ["--expose-gc"],
  },
});
