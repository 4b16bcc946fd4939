import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      ...["errors", "money", "ids", "resilience", "config", "http"].map((name) => ({
        test: { name: `shared-${name}`, root: `shared/${name}`, include: ["test/**/*.test.ts"], environment: "node" },
      })),
    ],
  },
});
