// Writing generated files, or (with --check) only reporting which are stale.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Writes each file whose text changed into `dir`; in check mode writes nothing and
 * returns false when any file is out of date. `regenerate` names the command to run.
 */
export function writeGenerated(
  dir: string,
  files: Iterable<[string, string]>,
  options: { check: boolean; regenerate: string },
): boolean {
  let stale = 0;
  for (const [name, text] of files) {
    const path = join(dir, name);
    let current = "";
    try {
      current = readFileSync(path, "utf8");
    } catch {}
    if (current === text) continue;
    if (options.check) {
      console.error(`${name} is out of date: run ${options.regenerate}`);
      stale++;
    } else {
      writeFileSync(path, text);
      console.log(`wrote ${name}`);
    }
  }
  return stale === 0;
}
