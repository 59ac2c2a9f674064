// Benchmark: the diff of a machine config that carries a 100,000-line
// inlineManifests entry, after a patch that changes one field above the manifest
// and one below it (so the two hunks are 100,000 unchanged lines apart and no
// common prefix or suffix covers the middle). Measures, in the same run:
//   - taloskit's unifiedDiff of the config before and after the patch,
//   - taloskit's whole patchConfig (parse, merge, print, structured + unified diff),
//   - baseline: jsdiff's createPatch of two copies of the same text with one line changed,
// and prints the times, their ratio, and the peak RSS against the size of the texts.
//
// Environment: BENCH_LINES (default 100000), BENCH_ROUNDS (default 5).
import { createRequire } from "node:module";
import { loadPatch, patchConfig, unifiedDiff } from "taloskit";
import { fmt, MiB, median } from "./helpers.js";

// jsdiff is a dependency of taloskit, not of the repository root.
interface JsDiff {
  createPatch(name: string, a: string, b: string): string;
}
const { createPatch } = createRequire(
  new URL("../../packages/taloskit/package.json", import.meta.url),
)("diff") as JsDiff;

const LINES = Number(process.env.BENCH_LINES ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

function baseConfig(): string {
  const manifest = Array.from({ length: LINES }, (_, i) =>
    i % 50 === 0 ? `        --- # object ${i / 50}` : `        data-${i}: value-${i}`,
  ).join("\n");
  return `version: v1alpha1
machine:
  type: controlplane
  token: abc.def
  network:
    hostname: bench-1
  install:
    disk: /dev/sda
cluster:
  clusterName: bench
  controlPlane:
    endpoint: https://bench:6443
  inlineManifests:
    - name: big
      contents: |
${manifest}
  allowSchedulingOnControlPlanes: false
`;
}

function time<T>(fn: () => T): { ms: number; value: T } {
  const start = performance.now();
  const value = fn();
  return { ms: performance.now() - start, value };
}

function rounds(label: string, fn: () => unknown): number {
  fn();
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) times.push(time(fn).ms);
  const ms = median(times);
  console.log(`${label}: ${fmt(ms)} ms (median of ${ROUNDS})`);
  return ms;
}

const maxRss = () => process.resourceUsage().maxRSS * 1024;

const base = baseConfig();
const patch = loadPatch(
  "machine:\n  network:\n    hostname: bench-2\ncluster:\n  allowSchedulingOnControlPlanes: true\n",
  "patch",
);
const merged = patchConfig(base, [patch]);
const before = patchConfig(base, [], { diff: false }).text;
const after = merged.text;
const hunks = merged.diff?.unified.match(/^@@ /gm)?.length ?? 0;
if (hunks !== 2) throw new Error(`expected two hunks, got ${hunks}`);
const oneLine = base.replace("data-50001: value-50001", "data-50001: changed");
console.log(
  `config: ${before.split("\n").length} lines, ${fmt(before.length / MiB)} MiB; patched texts differ in 2 places`,
);

const rssAtStart = maxRss();
const baseline = rounds("baseline: jsdiff createPatch, two copies with one line changed", () =>
  createPatch("config", base, oneLine),
);
const rssAfterBaseline = maxRss();
const diff = rounds("taloskit unifiedDiff of the config before and after the patch", () =>
  unifiedDiff(before, after),
);
const whole = rounds("taloskit patchConfig with the structured and unified diff", () => {
  const result = patchConfig(base, [patch]);
  return result.diff?.unified;
});
const rssEnd = maxRss();

console.log(`ratio unifiedDiff/baseline: ${fmt(diff / baseline, 2)}x time`);
console.log(`ratio patchConfig-with-diff/baseline: ${fmt(whole / baseline, 2)}x time`);
console.log(
  `peak RSS: +${fmt((rssAfterBaseline - rssAtStart) / MiB)} MiB for the baseline, +${fmt((rssEnd - rssAfterBaseline) / MiB)} MiB more for taloskit (texts: 2 x ${fmt(before.length / MiB)} MiB)`,
);
