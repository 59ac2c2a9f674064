// The CLI's build (after the library's, into dist/cli): one ESM bundle with its
// dependencies inlined and split at each command's dynamic import, so that a
// run loads the program and the one command it names and nothing else: Node
// starts a few large files much faster than hundreds of small modules.
// @taloskit/testing stays an optional package, loaded by `taloskit sim` only.
import { defineConfig } from "tsup";

export default defineConfig({
  entry: { main: "src/cli/main.ts" },
  outDir: "dist/cli",
  format: ["esm"],
  platform: "node",
  target: "node20",
  splitting: true,
  treeshake: true,
  sourcemap: true,
  clean: true,
  dts: false,
  noExternal: [/^(?!@taloskit\/testing$)/],
  // bundled CommonJS dependencies (commander) call require() for Node built-ins
  banner: {
    js: 'import { createRequire as __taloskitRequire } from "node:module";\nconst require = __taloskitRequire(import.meta.url);',
  },
});
