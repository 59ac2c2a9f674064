// Compiles protos/ and compares it on the wire with a reference descriptor set.
//
//   pnpm check:wire <reference.json|.binpb> [--expect FILE] [--json]
//
// Prints one line per difference: `+` only in protos/, `-` only in the
// reference, `~` a property that differs. Exits 0 when there is no difference,
// or, with --expect, when the differences are exactly the lines of FILE.

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { compileProtos } from "./lib/buf.js";
import { readDescriptorSet } from "./lib/descriptor.js";
import { compareWire, formatDifference } from "./lib/wire.js";

function main(): number {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { expect: { type: "string" }, json: { type: "boolean", default: false } },
  });
  const [referencePath] = positionals;
  if (!referencePath || positionals.length > 1) {
    console.error("usage: check:wire <reference-descriptor-set> [--expect FILE] [--json]");
    return 2;
  }
  const diffs = compareWire(compileProtos(), readDescriptorSet(referencePath));
  const lines = diffs.map(formatDifference);
  if (values.json) console.log(JSON.stringify(diffs, null, 2));
  else for (const line of lines) console.log(line);

  if (values.expect) {
    const expected = readFileSync(values.expect, "utf8")
      .split("\n")
      .filter((l) => l.trim() && !l.startsWith("#"));
    const unexpected = lines.filter((l) => !expected.includes(l));
    const missing = expected.filter((l) => !lines.includes(l));
    for (const l of unexpected) console.error(`unexpected: ${l}`);
    for (const l of missing) console.error(`expected but not found: ${l}`);
    const ok = !unexpected.length && !missing.length;
    console.error(
      `${lines.length} differences against ${referencePath}; ${ok ? "exactly the known changes" : "NOT the known changes"} (${values.expect})`,
    );
    return ok ? 0 : 1;
  }
  console.error(`${lines.length} differences against ${referencePath}`);
  return lines.length ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main();
