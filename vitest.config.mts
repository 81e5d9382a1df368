import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/stress/**", "node_modules/**"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests count fds and zombies of their own process: one file at a time per worker.
    pool: "forks",
    setupFiles: ["test/support/asan-setup.ts"],
    reporters: ["default"],
  },
});
