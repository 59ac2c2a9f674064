// Size report of each package's ESM build, and a tree-shaking check: a bundle that
// imports one small export of a package must be far smaller than one that imports
// all of it, which holds only while the builds stay free of module side effects.
// Third-party dependencies are left out of the bundles so the numbers are our own code.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { repoRoot } from "./lib/buf.js";

/** One small export per package: what a user who needs a single function would import. */
const probes: Record<string, { subpath: string; name: string }> = {
  "@taloskit/api": { subpath: "./machine", name: "VersionResponseSchema" },
  "@taloskit/client": { subpath: ".", name: "parseTalosconfig" },
  "@taloskit/core": { subpath: ".", name: "messageOf" },
  "@taloskit/factory": { subpath: ".", name: "installerImage" },
  "@taloskit/testing": { subpath: ".", name: "createTalosPki" },
  taloskit: { subpath: ".", name: "parseRules" },
};
/** A one-export bundle above this share of the whole package means tree-shaking broke. */
const MAX_SHARE = 0.5;

async function bundledBytes(source: string, external: string[]): Promise<number> {
  const result = await build({
    stdin: { contents: source, resolveDir: repoRoot, loader: "ts" },
    bundle: true,
    minify: true,
    write: false,
    format: "esm",
    platform: "node",
    external,
    logLevel: "silent",
  });
  const code = result.outputFiles[0]?.contents ?? new Uint8Array();
  if (code.byteLength < 100) throw new Error(`size report: bundle of ${source} is empty`);
  return gzipSync(code).byteLength;
}

function distBytes(dist: string): { raw: number; gzip: number } {
  let raw = 0;
  let gzip = 0;
  for (const file of readdirSync(dist)) {
    if (!file.endsWith(".js")) continue;
    const bytes = readFileSync(join(dist, file));
    raw += statSync(join(dist, file)).size;
    gzip += gzipSync(bytes).byteLength;
  }
  return { raw, gzip };
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
const rows: string[][] = [["package", "ESM build", "gzip", "all (gz)", "one export (gz)", "share"]];
let failed = 0;
for (const dir of readdirSync(join(repoRoot, "packages")).sort()) {
  const path = join(repoRoot, "packages", dir);
  const pkg = JSON.parse(readFileSync(join(path, "package.json"), "utf8"));
  const probe = probes[pkg.name];
  if (!probe) throw new Error(`size report: no probe export for ${pkg.name}`);
  // Third-party code stays out; workspace packages are bundled through their built dist.
  const external = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies }).filter(
    (dep) => !dep.startsWith("@taloskit/"),
  );
  external.push("node:*");
  // The built ESM file of an exports entry, as Node would load it.
  const built = (subpath: string) =>
    JSON.stringify(join(path, pkg.exports[subpath].import.default));
  const subpaths = Object.keys(pkg.exports).filter((key) => key !== "./package.json");
  const everything = subpaths.map((key, i) => `export * as m${i} from ${built(key)};`).join("\n");
  const all = await bundledBytes(everything, external);
  const one = await bundledBytes(
    `export { ${probe.name} } from ${built(probe.subpath)};`,
    external,
  );
  const { raw, gzip } = distBytes(join(path, "dist"));
  const share = one / all;
  if (share > MAX_SHARE) failed++;
  rows.push([pkg.name, kib(raw), kib(gzip), kib(all), kib(one), `${(share * 100).toFixed(1)}%`]);
}
const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => r[c]?.length ?? 0))) ?? [];
for (const row of rows) console.log(row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join("  "));
if (failed) {
  console.error(
    `size report: ${failed} package(s) do not tree-shake (one export above ${MAX_SHARE * 100}% of all)`,
  );
  process.exitCode = 1;
}
