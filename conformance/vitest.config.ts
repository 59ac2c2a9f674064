import { defineConfig } from "vitest/config";

// The conformance run: differential tests of taloskit against Talos's and the
// Image Factory's own Go code. Needs Go; `pnpm conformance` runs it.
export default defineConfig({
  resolve: { conditions: ["@taloskit/source"] },
  ssr: { resolve: { conditions: ["@taloskit/source"] } },
  test: {
    root: new URL("..", import.meta.url).pathname,
    include: ["conformance/test/**/*.test.ts"],
    globalSetup: ["conformance/build.ts"],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: "forks",
  },
});
