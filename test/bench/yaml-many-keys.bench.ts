// Benchmark: YAML with 40,000 distinct keys in one mapping, read as a talosconfig
// (parseTalosconfig) and as a patch (patchConfig), against the yaml package's own
// parse of the same text in the same run. The baseline parses with `uniqueKeys:
// false`: with its default duplicate-key check the library is quadratic (about
// 13 s for this text), which is the defect the bounded reader removes, so it
// would flatter the ratio. Prints the time of each and their ratio.
import { createRequire } from "node:module";
import { parseTalosconfig } from "@taloskit/client";
import { patchConfig } from "taloskit";

// The yaml package is a dependency of the packages, not of the repository root.
const { parse } = createRequire(new URL("../../packages/taloskit/package.json", import.meta.url))(
  "yaml",
) as { parse(text: string, options: { uniqueKeys: boolean }): unknown };

const KEYS = 40_000;

const lines = (indent: string, value: (i: number) => string): string =>
  Array.from({ length: KEYS }, (_, i) => `${indent}k${i}: ${value(i)}\n`).join("");

const talosconfig = `context: c0\ncontexts:\n${lines("  ", (i) => `{ endpoints: [10.0.${i % 250}.1] }`)}`;
const base = "version: v1alpha1\nmachine:\n  type: worker\ncluster:\n  clusterName: bench\n";
const patch = `machine:\n  sysctls:\n${lines("    ", (i) => `"${i}"`)}`;

function measure(label: string, fn: () => void, minMs = 1500): number {
  fn();
  let runs = 0;
  const start = performance.now();
  while (performance.now() - start < minMs) {
    fn();
    runs++;
  }
  const ms = (performance.now() - start) / runs;
  console.log(`${label}: ${ms.toFixed(1)} ms per run (${runs} runs)`);
  return ms;
}

function compare(what: string, text: string, ours: () => void): void {
  console.log(`${what}: ${KEYS} keys, ${(text.length / 1024).toFixed(0)} KiB`);
  const taloskit = measure(`  taloskit ${what}`, ours);
  const plain = measure("  baseline: yaml parse (uniqueKeys: false)", () => {
    parse(text, { uniqueKeys: false });
  });
  console.log(`  ratio taloskit/baseline: ${(taloskit / plain).toFixed(2)}x time`);
}

compare("parseTalosconfig", talosconfig, () => {
  const parsed = parseTalosconfig(talosconfig);
  if (Object.keys(parsed.contexts ?? {}).length !== KEYS) throw new Error("unexpected result");
});
compare("patchConfig (patch of 40,000 sysctls)", patch, () => {
  patchConfig(base, [patch], { diff: false });
});
