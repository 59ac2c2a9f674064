// Upgrade a cluster: plan the path through each minor release, then roll it out with
// control planes one at a time behind an etcd gate and workers in batches.
//
// Each node keeps the schematic it runs (its extensions survive the upgrade) unless a
// new one is given. A failure stops the run with a typed UpgradeError naming the node
// and the step, before any further node is touched; running the same plan again skips
// the nodes that are already done.
//
//   TALOSCONFIG=./talosconfig TALOS_VERSION=v1.14.0 npx tsx examples/upgrade-cluster.ts
import { TalosClient } from "@taloskit/client";
import { FactoryClient } from "@taloskit/factory";
import { planUpgrade, runUpgrade, UpgradeRunError } from "taloskit";

const client = await TalosClient.fromTalosconfig();
const factory = new FactoryClient({ baseUrl: process.env.FACTORY_URL });
try {
  const plan = await planUpgrade(client, {
    to: process.env.TALOS_VERSION ?? "v1.14.0",
    factory,
    // The Kubernetes version is read from a control plane's kubelet (or pass kubernetesVersion,
    // or a KubeClient as `kube`) and checked against every Talos version on the path.
  });
  for (const node of plan.nodes) {
    console.log(
      `${node.node} (${node.role}): ${node.version} -> ${node.steps.map((s) => s.version).join(" -> ") || "nothing to do"}`,
    );
  }

  const summary = await runUpgrade(client, plan, {
    batchSize: 2,
    // An etcd snapshot is saved (and read back) here before the first control plane goes down.
    etcdSnapshot: { dir: "." },
    onEvent: (event) => {
      if (event.type === "etcd-snapshot") console.log(`etcd snapshot: ${event.path}`);
      if (event.type === "node-done")
        console.log(`${event.node}: now ${event.version} (boot ${event.bootId})`);
    },
  });
  console.log(`upgraded ${summary.nodes.filter((n) => n.status === "upgraded").length} node(s)`);
} catch (error) {
  if (!(error instanceof UpgradeRunError)) throw error;
  console.error(`stopped at ${error.node} during ${error.step}: ${error.message}`);
  process.exitCode = 1;
} finally {
  client.close();
}
