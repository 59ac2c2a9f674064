import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["@taloskit/source"] },
  ssr: { resolve: { conditions: ["@taloskit/source"] } },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts", "examples/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
