// `taloskit upgrade run` with a kubeconfig, against the simulated Talos
// cluster and Kubernetes API over real sockets: the drain flags
// (--drain-timeout, --force-after, --no-kubernetes-gate) reach the run, bad
// values are refused before any node is touched, and forced deletions and
// the pull time are printed.
import { type KubernetesSimulator, startKubernetesSimulator } from "@taloskit/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { upgradeCommand } from "../../src/cli/commands/upgrade.js";
import { runCli, type TalosconfigFiles, talosconfigFiles } from "../helpers/cli.js";
import { type Env, SCHEMATIC_A, snapshot, startEnv, touched } from "./helpers.js";

const CP = "10.5.0.2";
const W1 = "10.5.0.3";
const W2 = "10.5.0.4";

let env: Env;
let kube: KubernetesSimulator;
let files: TalosconfigFiles;
let cfg: string;

beforeAll(async () => {
  env = await startEnv([
    {
      address: CP,
      hostname: "cp",
      role: "controlplane",
      version: "v1.13.3",
      schematic: SCHEMATIC_A,
    },
    { address: W1, hostname: "w1", role: "worker", version: "v1.13.3", schematic: SCHEMATIC_A },
    { address: W2, hostname: "w2", role: "worker", version: "v1.13.3", schematic: SCHEMATIC_A },
  ]);
  kube = await startKubernetesSimulator({
    nodes: [{ name: "cp", controlPlane: true }, "w1", "w2"],
  });
  files = await talosconfigFiles(env.sim);
  cfg = await files.write("talosconfig", { nodes: [CP, W1, W2] });
});
afterAll(async () => {
  await kube?.close();
  await files?.remove();
  await env?.close();
});
beforeEach(() => {
  // Two db replicas under a budget that never allows a disruption.
  kube.pods.splice(0);
  kube.budgets.splice(0);
  kube.pods.push(
    ...["w1", "w2"].map((nodeName, i) => ({
      namespace: "default",
      name: `db-${i}`,
      nodeName,
      labels: { app: "db" },
      ownerKind: "ReplicaSet",
      ownerName: "db",
    })),
  );
  kube.budgets.push({
    namespace: "default",
    name: "db-pdb",
    matchLabels: { app: "db" },
    maxUnavailable: 0,
  });
  for (const n of kube.nodes.values()) n.unschedulable = false;
  for (const n of env.sim.nodes) {
    n.state.version = "v1.13.3";
    n.state.images.clear();
    n.state.pendingUpgrade = undefined;
    n.touch();
  }
});

const run = (args: string[]) =>
  runCli(upgradeCommand, ["run", "--to", "v1.14.0", ...args], {
    env: {},
    isTTY: false,
    readFile: () => kube.kubeconfig(),
  });
const common = () => [
  "--talosconfig",
  cfg,
  "--factory",
  env.factory.url,
  "--kubeconfig",
  "kc",
  "--timeout",
  "10s",
  // The etcd snapshot would land in the working directory; these tests are about drains.
  "--no-etcd-snapshot",
];

describe("taloskit upgrade run: drain flags", () => {
  it("refuses a bad --force-after, and one not shorter than --drain-timeout, touching nothing", async () => {
    const before = snapshot(env.sim);
    await expect(run([...common(), "--force-after", "soon"])).rejects.toThrow(
      /invalid --force-after "soon"/,
    );
    await expect(
      run([...common(), "--drain-timeout", "1m", "--force-after", "2m"]),
    ).rejects.toThrow(
      /drain.forceAfterMs \(120000 ms\) must be at least 0 and less than the drain timeout \(60000 ms\)/,
    );
    for (const a of [CP, W1, W2])
      expect(touched(env.sim, a, before.get(a) as never), a).toBe(false);
  });

  it("--no-kubernetes-gate leaves the budget to the drain, which times out after --drain-timeout", async () => {
    const r = await run([...common(), "--no-kubernetes-gate", "--drain-timeout", "300ms"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`${W1}\\s+worker.*failed\\s+.*UPGRADE_DRAIN_FAILED`));
    expect(r.stderr).toMatch(
      /10.5.0.3: eviction of default\/db-0 refused, retrying \(The disruption budget db-pdb needs 2/,
    );
    expect(r.stderr).toMatch(
      /draining Kubernetes node w1 failed: draining w1 did not finish within 300 ms/,
    );
    expect(r.stderr).not.toMatch(/gate kubernetes/);
    expect(kube.nodes.get("w1")?.unschedulable).toBe(true);
    expect(env.sim.node(W2).state.version).toBe("v1.13.3");
  });

  it("--force-after completes the run and prints each forced deletion and each pull time", async () => {
    const r = await run([...common(), "--drain-timeout", "30s", "--force-after", "200ms"]);
    expect(r.stderr).not.toMatch(/FAIL/);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /10.5.0.3: FORCED deletion of default\/db-0, bypassing budget db-pdb \(grace 30s\)/,
    );
    expect(r.stderr).toMatch(/10.5.0.3: pulled \S+ in \d+\.\ds/);
    expect(r.stderr).toMatch(/ok\s+gate kubernetes: 3 Kubernetes node\(s\) of the plan Ready\n/);
    expect(kube.log).toContain("delete default/db-0 grace=30");
    for (const a of [CP, W1, W2]) expect(env.sim.node(a).state.version).toBe("v1.14.0");
  });
});
