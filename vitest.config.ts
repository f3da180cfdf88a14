import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // Workspace packages resolve to their TypeScript sources: no build step before tests.
    conditions: ["koper-source"],
  },
  ssr: { resolve: { conditions: ["koper-source"], externalConditions: ["koper-source"] } },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    setupFiles: ["test/support/quiet-kafkajs.ts"],
    // Generates the Prisma clients the Prisma tests import (quick when they are up to date).
    globalSetup: ["test/support/prisma-generate.ts"],
  },
});
