import type { Options } from "tsup";

/** Shared build settings: ESM + CJS + declarations, one entry per public subpath. */
export function packageBuild(entry: Record<string, string> | string[]): Options {
  return {
    entry,
    format: ["esm", "cjs"],
    dts: true,
    clean: true,
    sourcemap: true,
    target: "node20",
    platform: "neutral",
    splitting: true,
    treeshake: true,
    outDir: "dist",
  };
}
