// Benchmark: the CPU (user + system) of a cold start of the CLI, `taloskit
// schematic id FILE` from the built bin (packages/taloskit/dist/cli/main.js),
// against a bare `node -e 0` in the same run; prints both and their ratio
// (the goal: at most 3x). Builds the packages first when the bin is missing.
// CPU of the child processes is read from /proc/self/stat (cutime + cstime, the
// CPU of waited-for children), so it needs Linux; elsewhere it prints wall time.
import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "../..");
const bin = join(root, "packages/taloskit/dist/cli/main.js");
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
/** Linux's USER_HZ: /proc reports CPU time in these ticks. */
const TICKS_PER_SECOND = 100;

if (!existsSync(bin)) {
  console.log("building (the bin is missing)...");
  execFileSync("npx", ["--yes", "pnpm@10", "build"], { cwd: root, stdio: "inherit" });
}

const dir = mkdtempSync(join(tmpdir(), "taloskit-bench-"));
const file = join(dir, "schematic.yaml");
writeFileSync(
  file,
  "customization:\n  systemExtensions:\n    officialExtensions:\n      - siderolabs/intel-ucode\n      - siderolabs/i915\n",
);

/**
 * The files of the built bin that a run of `schematic id` loads before it
 * runs (main.js, the schematic command's chunk and what they import
 * statically), and the sources bundled in them (from their source maps).
 */
function loadedBy(command: string): { files: string[]; bytes: number; sources: string[] } {
  const dirOf = join(bin, "..");
  const entry = readdirSync(dirOf).find((f) => f.startsWith(`${command}-`) && f.endsWith(".js"));
  if (!entry) throw new Error(`no chunk of the ${command} command in ${dirOf}`);
  const files = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(join(dirOf, file), "utf8");
    for (const m of text.matchAll(/^import (?:[^;]*? from )?'\.\/([^']+)'/gm))
      visit(m[1] as string);
  };
  visit("main.js");
  visit(entry);
  let bytes = 0;
  const sources = new Set<string>();
  for (const file of files) {
    bytes += statSync(join(dirOf, file)).size;
    const map = JSON.parse(readFileSync(join(dirOf, `${file}.map`), "utf8")) as {
      sources: string[];
    };
    for (const source of map.sources) sources.add(source);
  }
  return { files: [...files], bytes, sources: [...sources] };
}

/** CPU seconds of the waited-for children so far, or undefined without /proc. */
function childrenCpu(): number | undefined {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // after the command name: field 3 is index 0; cutime is field 16, cstime 17
    return (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Milliseconds of CPU (or wall time without /proc) per run of `args`. */
function measure(label: string, args: string[]): number {
  const once = () => {
    const r = spawnSync(process.execPath, args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${label} failed: ${r.stderr}`);
    return r.stdout;
  };
  once(); // warm the file cache
  const cpu0 = childrenCpu();
  const wall0 = performance.now();
  for (let i = 0; i < RUNS; i++) once();
  const wall = (performance.now() - wall0) / RUNS;
  const cpu1 = childrenCpu();
  const cpu = cpu0 === undefined || cpu1 === undefined ? undefined : ((cpu1 - cpu0) * 1000) / RUNS;
  console.log(
    `${label}: ${cpu === undefined ? "n/a" : `${cpu.toFixed(1)} ms`} CPU, ${wall.toFixed(1)} ms wall per run (${RUNS} runs)`,
  );
  return cpu ?? wall;
}

try {
  const id = spawnSync(process.execPath, [bin, "schematic", "id", file], { encoding: "utf8" });
  if (!/^[0-9a-f]{64}\n$/.test(id.stdout)) throw new Error(`unexpected output: ${id.stdout}`);
  const loaded = loadedBy("schematic");
  const heavy = [
    "@taloskit/api",
    "/api/",
    "@connectrpc",
    "@bufbuild/protobuf",
    "/client/",
    "src/config/",
    "src/upgrade/",
  ];
  const pulled = heavy.filter((h) => loaded.sources.some((s) => s.includes(h)));
  console.log(
    `  schematic id loads ${loaded.files.length} files, ${(loaded.bytes / 1024).toFixed(0)} KiB; of the API, connect, protobuf, the client, the config model and upgrades: ${pulled.length ? pulled.join(", ") : "none"}`,
  );
  if (pulled.length) process.exitCode = 1;
  const cli = measure("  taloskit schematic id FILE", [bin, "schematic", "id", file]);
  const bare = measure("  baseline: node -e 0", ["-e", "0"]);
  console.log(`  ratio taloskit/baseline: ${(cli / bare).toFixed(2)}x CPU (goal: at most 3x)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
