// Benchmark: plan and run a rolling upgrade (v1.13.3 -> v1.14.0) of 1,000
// simulated nodes (3 control planes, 997 workers in batches of 50) with zero
// simulated delays, over real mTLS to the in-process simulator. The baseline,
// measured in the same run on the same nodes and connection: the bare RPCs an
// upgrade cannot do without (Pull, LifecycleService.Upgrade, Reboot, then
// Version until the node answers with the new version), in the same order
// and batches, with none of the SDK's reads, gates, event tracking or checks.
// Prints milliseconds per node for both and their ratio.
import { ContainerDriver, ContainerdNamespace } from "@taloskit/api/common";
import { FactoryClient } from "@taloskit/factory";
import type { ClusterSimulator } from "@taloskit/testing";
import { planUpgrade, runUpgrade } from "taloskit";
import { BATCH, NODES, SCHEMATIC, startUpgradeCluster, TO } from "./upgrade-cluster.js";

const t0 = performance.now();
const cluster = await startUpgradeCluster();
const { sim, factory, client } = cluster;
const addresses = sim.nodes.map((n) => n.address);
console.log(
  `simulator: ${NODES} nodes (one mTLS gRPC server each, behind one router) started in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);

function check(s: ClusterSimulator, what: string): void {
  const wrong = s.nodes.filter((n) => n.state.version !== TO).length;
  if (wrong) throw new Error(`${what}: ${wrong} node(s) not at ${TO}`);
}

/** Runs `fn` on control planes one at a time, then workers in batches. */
async function rolling(fn: (node: string) => Promise<void>): Promise<void> {
  for (const cp of addresses.slice(0, 3)) await fn(cp);
  const workers = addresses.slice(3);
  for (let i = 0; i < workers.length; i += BATCH)
    await Promise.all(workers.slice(i, i + BATCH).map(fn));
}

const containerd = { driver: ContainerDriver.CRI, namespace: ContainerdNamespace.NS_SYSTEM };
const imageOf = () => `${new URL(factory.url).host}/metal-installer/${SCHEMATIC}:${TO}`;

async function bareUpgrade(node: string): Promise<void> {
  const image = imageOf();
  for await (const _ of client.at(node).image.pull({ containerd, imageRef: image })) {
    // drain the progress stream
  }
  for await (const _ of client
    .at(node)
    .lifecycle.upgrade({ containerd, source: { imageName: image } })) {
    // drain the installer output
  }
  await client.at(node).machine.reboot({});
  for (;;) {
    try {
      const v = await client.at(node).machine.version({}, { timeoutMs: 5_000 });
      if (v.messages[0]?.version?.tag === TO) return;
    } catch {
      // down while it reboots
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function barePlanRead(node: string): Promise<void> {
  await client.at(node).machine.version({});
}

/** The reads planning makes for one node, as bare calls with no decoding or logic. */
async function barePlanReads(node: string): Promise<void> {
  const get = (namespace: string, type: string, id: string) =>
    client.at(node).cosi.get({ namespace, type, id });
  const list = async () => {
    for await (const _ of client
      .at(node)
      .cosi.list({ namespace: "runtime", type: "ExtensionStatuses.runtime.talos.dev" })) {
      // drain
    }
  };
  await client.at(node).machine.version({});
  await Promise.all([
    list(),
    get("runtime", "PlatformMetadatas.talos.dev", "platformmetadata"),
    get("runtime", "SecurityStates.talos.dev", "securitystate"),
    client.at(node).machine.hostname({}),
    get("config", "MachineTypes.config.talos.dev", "machine-type"),
    client.streams.read("/proc/sys/kernel/random/boot_id", { node }).text(),
    get("runtime", "MachineStatuses.runtime.talos.dev", "machine"),
  ]);
}

// Warm up the router's connections to every node.
await client.onNodes(addresses, barePlanRead, { concurrency: 32 });

// --- plan: baseline and taloskit alternate twice; the faster of each counts ---
const factoryClient = new FactoryClient({ baseUrl: factory.url, retries: 0 });
const makePlan = () =>
  planUpgrade(client, {
    to: TO,
    nodes: addresses,
    factory: factoryClient,
    kubernetesVersion: "1.34.1",
    concurrency: 16,
  });
let planMs = Number.POSITIVE_INFINITY;
let barePlanMs = Number.POSITIVE_INFINITY;
let plan = await makePlan();
for (let round = 0; round < 2; round++) {
  let start = performance.now();
  await client.onNodes(addresses, barePlanReads, { concurrency: 16 });
  barePlanMs = Math.min(barePlanMs, performance.now() - start);
  start = performance.now();
  plan = await makePlan();
  planMs = Math.min(planMs, performance.now() - start);
}
if (plan.nodes.filter((n) => n.action === "upgrade").length !== NODES) throw new Error("bad plan");
console.log(
  `plan (taloskit, every node's version, role, schematic, platform, SecureBoot, boot ID, status): ${(planMs / NODES).toFixed(2)} ms/node (${(planMs / 1000).toFixed(1)} s)`,
);
console.log(
  `baseline: the same eight reads per node as bare calls, same concurrency: ${(barePlanMs / NODES).toFixed(2)} ms/node (${(barePlanMs / 1000).toFixed(1)} s)`,
);
console.log(`ratio plan taloskit/baseline: ${(planMs / barePlanMs).toFixed(2)}x time per node`);

// --- run: bare RPCs first, then the SDK on the same (reset) nodes ---
let start = performance.now();
await rolling(bareUpgrade);
const bareRunMs = performance.now() - start;
check(sim, "baseline");
cluster.reset();

let events = 0;
start = performance.now();
const summary = await runUpgrade(client, plan, {
  batchSize: BATCH,
  retryIntervalMs: 5,
  retryMaxIntervalMs: 5,
  gates: { intervalMs: 5 },
  onEvent: () => {
    events++;
  },
});
const runMs = performance.now() - start;
check(sim, "taloskit");
if (!summary.ok || summary.nodes.some((n) => n.status !== "upgraded"))
  throw new Error("taloskit run did not upgrade every node");

console.log(
  `run (taloskit: gates, reads, pull, install, reboot tracked on the event stream, verify): ${(runMs / NODES).toFixed(2)} ms/node (${(runMs / 1000).toFixed(1)} s, ${events} progress events)`,
);
console.log(
  `baseline: bare Pull + LifecycleService.Upgrade + Reboot + Version polling, same order and batches: ${(bareRunMs / NODES).toFixed(2)} ms/node (${(bareRunMs / 1000).toFixed(1)} s)`,
);
console.log(`ratio run taloskit/baseline: ${(runMs / bareRunMs).toFixed(2)}x time per node`);
console.log(
  `taloskit's own time per node (run minus baseline): ${((runMs - bareRunMs) / NODES).toFixed(2)} ms`,
);

await cluster.close();
