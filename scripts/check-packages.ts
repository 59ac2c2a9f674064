// Checks every publishable package as npm would ship it: publint (strict) for
// the package.json and its files, are-the-types-wrong for the types that Node
// (ESM and CJS) and bundlers resolve through each exports entry.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./lib/buf.js";

const bin = (name: string) => join(repoRoot, "node_modules/.bin", name);
let failed = 0;
for (const dir of readdirSync(join(repoRoot, "packages")).sort()) {
  const path = join(repoRoot, "packages", dir);
  const { name } = JSON.parse(readFileSync(join(path, "package.json"), "utf8"));
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
