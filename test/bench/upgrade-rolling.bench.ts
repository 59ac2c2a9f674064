// Benchmark: plan and run a rolling upgrade (v1.13.3 -> v1.14.0) of 1,000
// simulated nodes (3 control planes, 997 workers in batches of 50) with zero
// simulated delays. The simulator and the factory run in a child process, so
// that the CPU this process spends is the SDK's own (and the client's). The
// baseline, measured in the same run on the same nodes and connection: the
// bare RPCs an upgrade cannot do without (Pull, LifecycleService.Upgrade,
// Reboot, then Version until the node answers with the new version), in the
// same order and batches, with none of the SDK's reads, gates, event tracking
// or checks. Prints the client CPU and wall time per node of both and their
// ratio, in rounds with the order alternated. Goal: the SDK's CPU per node
// <= 1.2x the bare RPC sequence's.
//
// Environment: UPGRADE_BENCH_NODES (default 1000), BENCH_ROUNDS (default 3).
import { ContainerDriver, ContainerdNamespace } from "@taloskit/api/common";
import { TalosClient } from "@taloskit/client";
import { FactoryClient } from "@taloskit/factory";
import { planUpgrade, runUpgrade, type UpgradePlan } from "taloskit";
import { fmt, measureRounds, median, spread, startChild, verdict } from "./helpers.js";
import type { UpgradeSimInfo } from "./upgrade-sim-child.js";

const NODES = Number(process.env.UPGRADE_BENCH_NODES ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BATCH = 50;
const FROM = "v1.13.3";
const TO = "v1.14.0";
const SCHEMATIC = "a".repeat(64);

const t0 = performance.now();
const sim = await startChild<UpgradeSimInfo>("upgrade-sim-child.ts", [
  String(NODES),
  FROM,
  TO,
  SCHEMATIC,
]);
const { info } = sim;
const client = TalosClient.connect({ endpoints: [info.endpoint], ...info });
const addresses = info.nodes;
console.log(
  `simulator: ${NODES} nodes (one mTLS gRPC server each, behind one router) and a factory, in a child process, started in ${fmt((performance.now() - t0) / 1000)} s`,
);

async function reset(): Promise<void> {
  await sim.ask("reset");
}

async function check(what: string): Promise<void> {
  const { behind } = await sim.ask<{ behind: number }>("behind");
  if (behind) throw new Error(`${what}: ${behind} node(s) not at ${TO}`);
}

/** Runs `fn` on control planes one at a time, then workers in batches. */
async function rolling(fn: (node: string) => Promise<void>): Promise<void> {
  for (const cp of addresses.slice(0, 3)) await fn(cp);
  const workers = addresses.slice(3);
  for (let i = 0; i < workers.length; i += BATCH)
    await Promise.all(workers.slice(i, i + BATCH).map(fn));
}

const containerd = { driver: ContainerDriver.CRI, namespace: ContainerdNamespace.NS_SYSTEM };
const imageOf = () => `${new URL(info.factoryUrl).host}/metal-installer/${SCHEMATIC}:${TO}`;

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

const factoryClient = new FactoryClient({ baseUrl: info.factoryUrl, retries: 0 });
const makePlan = () =>
  planUpgrade(client, {
    to: TO,
    nodes: addresses,
    factory: factoryClient,
    kubernetesVersion: "1.34.1",
    concurrency: 16,
  });
// The plan every run carries out, made while every node runs FROM.
const plan: UpgradePlan = await makePlan();
const checkPlan = (p: UpgradePlan) => {
  if (p.nodes.filter((n) => n.action === "upgrade").length !== NODES) throw new Error("bad plan");
};
checkPlan(plan);

let events = 0;
const runs = [
  [
    "plan: taloskit",
    async () => {
      await reset();
      checkPlan(await makePlan());
    },
  ],
  [
    "plan: bare reads",
    async () => {
      await reset();
      await client.onNodes(addresses, barePlanReads, { concurrency: 16 });
    },
  ],
  [
    "run: taloskit",
    async () => {
      await reset();
      const summary = await runUpgrade(client, plan, {
        batchSize: BATCH,
        retryIntervalMs: 5,
        retryMaxIntervalMs: 5,
        gates: { intervalMs: 5 },
        onEvent: () => {
          events++;
        },
      });
      if (!summary.ok || summary.nodes.some((n) => n.status !== "upgraded"))
        throw new Error("taloskit run did not upgrade every node");
      await check("taloskit");
    },
  ],
  [
    "run: bare RPCs",
    async () => {
      await reset();
      await rolling(bareUpgrade);
      await check("baseline");
    },
  ],
] as const;

try {
  const results = await measureRounds(
    runs,
    ROUNDS,
    sim,
    (name, m) =>
      `${name} ${fmt(m.wallMs / NODES, 2)} ms/node (cpu ${fmt(m.cpuMs / NODES, 2)} ms/node, simulator ${fmt(m.serverCpuMs / NODES, 2)})`,
  );
  const perNode = (name: string, k: "cpuMs" | "wallMs") =>
    (results.get(name) ?? []).map((m) => m[k] / NODES);
  for (const [name] of runs) {
    console.log(
      `${name}: client CPU ${spread(perNode(name, "cpuMs"))} ms/node, wall ${spread(perNode(name, "wallMs"))} ms/node (median (min-max) of ${ROUNDS})`,
    );
  }
  console.log(`(the taloskit runs sent ${events} progress events in all)`);
  const ratio = (a: string, b: string, k: "cpuMs" | "wallMs") => {
    const base = perNode(b, k);
    return median(perNode(a, k).map((v, i) => v / (base[i] ?? v)));
  };
  const plans = ratio("plan: taloskit", "plan: bare reads", "cpuMs");
  console.log(
    `ratio plan taloskit/bare reads: ${fmt(plans, 2)}x client CPU per node, ${fmt(ratio("plan: taloskit", "plan: bare reads", "wallMs"), 2)}x wall`,
  );
  const run = ratio("run: taloskit", "run: bare RPCs", "cpuMs");
  console.log(
    `ratio run taloskit/bare RPCs: ${fmt(run, 2)}x client CPU per node (the SDK's own time), ${fmt(ratio("run: taloskit", "run: bare RPCs", "wallMs"), 2)}x wall; ${verdict(run <= 1.2, "<= 1.2x")}`,
  );
} finally {
  client.close();
  await sim.close();
}
