// Checks every publishable package as npm would ship it: publint (strict) for
// the package.json and its files, are-the-types-wrong for the types that Node
// (ESM and CJS) and bundlers resolve through each exports entry.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./lib/buf.js";

const bin = (name: string) => join(repoRoot, "node_modules/.bin", name);
const licence = readFileSync(join(repoRoot, "LICENSE"), "utf8");
let failed = 0;
for (const dir of readdirSync(join(repoRoot, "packages")).sort()) {
  const path = join(repoRoot, "packages", dir);
  const pkg = JSON.parse(readFileSync(join(path, "package.json"), "utf8"));
  const name: string = pkg.name;
  // Every tarball carries the licence, and bundlers may drop any module nobody imports from.
  const metadata = [
    [
      existsSync(join(path, "LICENSE")) && readFileSync(join(path, "LICENSE"), "utf8") === licence,
      "LICENSE differs from the root one",
    ],
    [pkg.license === "Apache-2.0", `license is ${pkg.license}, not Apache-2.0`],
    [pkg.sideEffects === false, "sideEffects is not false"],
    [
      Boolean(pkg.description && pkg.repository?.directory === `packages/${dir}`),
      "description or repository.directory missing",
    ],
  ] as const;
  for (const [ok, problem] of metadata) {
    if (ok) continue;
    failed++;
    console.error(`FAIL metadata ${name}: ${problem}`);
  }
  for (const [tool, args] of [
    ["publint", ["run", path, "--pack", "npm", "--strict"]],
    // node10 resolution predates exports maps and cannot see subpaths; Node 16+ and bundlers can.
    ["attw", ["--pack", path, "--profile", "node16", "--format", "table-flipped"]],
  ] as const) {
    try {
      execFileSync(bin(tool), [...args], { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
      console.log(`ok   ${tool} ${name}`);
    } catch (error) {
      failed++;
      const e = error as { stdout?: string; stderr?: string };
      console.error(`FAIL ${tool} ${name}\n${e.stdout ?? ""}${e.stderr ?? ""}`);
    }
  }
}
console.log(failed ? `${failed} package checks failed` : "all package checks passed");
process.exitCode = failed ? 1 : 0;
