// Runs the benchmarks in test/bench (every *.bench.ts), one process each so that
// one benchmark's memory does not skew the next. `pnpm bench [name-filter]`.
// Each benchmark prints its own baseline and ratio lines, measured in the same run.
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const dir = import.meta.dirname;
const filter = process.argv[2] ?? "";
const benches = readdirSync(dir)
  .filter((f) => f.endsWith(".bench.ts") && f.includes(filter))
  .sort();
if (!benches.length) {
  console.error(`no benchmark matches "${filter}"`);
  process.exit(1);
}
for (const bench of benches) {
  console.log(`\n# ${bench}`);
  execFileSync(
    process.execPath,
    ["--expose-gc", "--conditions=@taloskit/source", "--import", "tsx", join(dir, bench)],
    {
      stdio: "inherit",
    },
  );
}
