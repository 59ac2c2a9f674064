// Benchmark: what a state file costs a rolling upgrade (v1.13.3 -> v1.14.0)
// of 1,000 simulated nodes (3 control planes, 997 workers in batches of 50)
// with zero simulated delays, over real mTLS to the in-process simulator.
// The baseline, measured in the same run on the same (reset) nodes: the same
// runUpgrade without a state file. Prints milliseconds per node for both, the
// ratio, and the size of the final file.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FactoryClient } from "@taloskit/factory";
import { planUpgrade, readUpgradeState, runUpgrade } from "taloskit";
import { BATCH, NODES, startUpgradeCluster, TO } from "./upgrade-cluster.js";

const cluster = await startUpgradeCluster();
const { sim, factory, client } = cluster;
const dir = mkdtempSync(join(tmpdir(), "taloskit-bench-state-"));

const plan = await planUpgrade(client, {
  to: TO,
  nodes: sim.nodes.map((n) => n.address),
  factory: new FactoryClient({ baseUrl: factory.url, retries: 0 }),
  kubernetesVersion: "1.34.1",
});

/** One whole run; with `state`, into a new state file. */
async function timed(state: string | undefined): Promise<number> {
  cluster.reset();
  const start = performance.now();
  const summary = await runUpgrade(client, plan, {
    batchSize: BATCH,
    retryIntervalMs: 5,
    retryMaxIntervalMs: 5,
    gates: { intervalMs: 5 },
    state: state ? { path: state } : undefined,
  });
  const ms = performance.now() - start;
  if (!summary.ok || sim.nodes.some((n) => n.state.version !== TO)) throw new Error("run failed");
  return ms;
}

// Baseline and state file alternate twice; the faster of each counts.
let bare = Number.POSITIVE_INFINITY;
let withState = Number.POSITIVE_INFINITY;
for (let round = 0; round < 2; round++) {
  bare = Math.min(bare, await timed(undefined));
  const file = join(dir, `state-${round}.json`);
  withState = Math.min(withState, await timed(file));
  if (readUpgradeState(file)?.status !== "done") throw new Error("state file not done");
}
const size = statSync(join(dir, "state-1.json")).size;

console.log(
  `run with a state file: ${(withState / NODES).toFixed(2)} ms/node (${(withState / 1000).toFixed(1)} s; final file ${(size / 1024).toFixed(0)} KiB)`,
);
console.log(
  `baseline: the same run without a state file: ${(bare / NODES).toFixed(2)} ms/node (${(bare / 1000).toFixed(1)} s)`,
);
console.log(`ratio state file/baseline: ${(withState / bare).toFixed(2)}x time per node`);

rmSync(dir, { recursive: true, force: true });
await cluster.close();
