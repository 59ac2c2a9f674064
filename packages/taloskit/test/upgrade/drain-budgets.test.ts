// Rolling upgrades whose drains meet real PodDisruptionBudgets, over real
// sockets: the simulated Talos cluster (gRPC + mTLS) and the simulated
// Kubernetes API (HTTPS), whose Eviction API refuses what a budget does not
// allow and whose ReplicaSet controller starts replacements elsewhere, as
// Kubernetes does (pkg/registry/core/pod/storage/eviction.go,
// pkg/controller/disruption). Also: the Kubernetes gate before each worker
// batch, the explicit force fallback, and the installer pulled before the
// drain so that the disruption is the reboot alone.
import {
  type KubernetesSimulator,
  type KubeSimPod,
  type SimNodeOptions,
  startKubernetesSimulator,
} from "@taloskit/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { progressPrinter } from "../../src/cli/commands/upgrade.js";
import { DrainTimeoutError, KubeClient } from "../../src/kubernetes/index.js";
import {
  planUpgrade,
  type RunUpgradeOptions,
  runUpgrade,
  type UpgradeError,
  type UpgradeEvent,
  UpgradeRunError,
} from "../../src/upgrade/index.js";
import {
  clearNodeFaults,
  type Env,
  FAST,
  kubeletReadiness,
  recorder,
  rejection,
  SCHEMATIC_A,
  snapshot,
  startEnv,
  touched,
} from "./helpers.js";

const CP = "10.5.0.2";
const WORKERS = ["10.5.0.10", "10.5.0.11", "10.5.0.12"] as const;
const [W10, W11, W12] = WORKERS;
const hostname = (a: string) => `node-${a.split(".").at(-1)}`;

const talosNodes: SimNodeOptions[] = [
  {
    address: CP,
    hostname: hostname(CP),
    role: "controlplane",
    version: "v1.13.3",
    schematic: SCHEMATIC_A,
  },
  ...WORKERS.map((address) => ({
    address,
    hostname: hostname(address),
    role: "worker" as const,
    version: "v1.13.3",
    schematic: SCHEMATIC_A,
  })),
];

/** Pods of a ReplicaSet labelled app=<app>, one per node given. */
const replicaSet = (app: string, on: string[], grace?: number): KubeSimPod[] =>
  on.map((a, i) => ({
    namespace: "default",
    name: `${app}-${i}`,
    nodeName: hostname(a),
    labels: { app },
    ownerKind: "ReplicaSet",
    ownerName: app,
    terminationGracePeriodSeconds: grace,
  }));

/** Two db replicas on node-11 and node-12 under a budget that allows no disruption at all. */
function neverDisrupted(grace?: number): void {
  kube.pods.push(...replicaSet("db", [W11, W12], grace));
  kube.budgets.push({
    namespace: "default",
    name: "db-pdb",
    matchLabels: { app: "db" },
    maxUnavailable: 0,
  });
}

let env: Env;
let kube: KubernetesSimulator;
let readiness: ReturnType<typeof kubeletReadiness>;
let kc: KubeClient;

beforeAll(async () => {
  env = await startEnv(talosNodes);
  readiness = kubeletReadiness(env.sim);
  kube = await startKubernetesSimulator({
    nodes: [
      { name: hostname(CP), controlPlane: true },
      ...WORKERS.map((w) => ({ name: hostname(w) })),
    ],
    // Each Node is Ready only while its Talos node runs (pods on it too).
    isReady: (name) => readiness.isReady(name),
  });
  kc = KubeClient.fromKubeconfig(kube.kubeconfig());
});
afterAll(async () => {
  await kube?.close();
  await env?.close();
});
beforeEach(() => {
  clearNodeFaults(env.sim);
  readiness.clear();
  kube.pods.splice(0);
  kube.budgets.splice(0);
  for (const n of kube.nodes.values()) {
    n.ready = true;
    n.unschedulable = false;
  }
  for (const n of env.sim.nodes) {
    n.state.version = "v1.13.3";
    n.state.images.clear();
    n.state.pendingUpgrade = undefined;
    n.touch();
  }
});

const opts = (extra: Partial<RunUpgradeOptions> = {}): RunUpgradeOptions => ({
  ...FAST,
  // These runs are about drains: no etcd snapshot file left behind.
  etcdSnapshot: false,
  kube: kc,
  drain: { intervalMs: 5, maxIntervalMs: 20 },
  kubernetes: { intervalMs: 5, readyTimeoutMs: 10_000 },
  gates: { intervalMs: 5, timeoutMs: 10_000 },
  ...extra,
});

const plan = (nodes?: string[]) =>
  planUpgrade(env.client, { to: "v1.14.0", factory: env.factoryClient, nodes, subset: !!nodes });

/** One node's trail of steps and drain events, in order. */
const trail = (events: UpgradeEvent[], node: string) =>
  events.flatMap((e) => {
    if (!("node" in e) || e.node !== node) return [];
    if (e.type === "step") return [e.step as string];
    if (e.type === "evict" || e.type === "evict-refused" || e.type === "pod-forced")
      return [`${e.type} ${e.pod}`];
    if (e.type === "pull-done") return ["pull-done"];
    return [];
  });

describe("drains under disruption budgets", () => {
  it("a budget (minAvailable 2 of 3) holds the drain until the ReplicaSet's new pod is Ready, then the upgrade goes on", async () => {
    kube.pods.push(...replicaSet("web", [W10, W10, W11]));
    kube.budgets.push({
      namespace: "default",
      name: "web-pdb",
      matchLabels: { app: "web" },
      minAvailable: 2,
    });
    const from = kube.log.length;
    const rec = recorder();
    const summary = await runUpgrade(env.client, await plan(), opts({ onEvent: rec.on }));
    expect(summary.ok).toBe(true);
    for (const a of [CP, ...WORKERS]) expect(env.sim.node(a).state.version).toBe("v1.14.0");
    // Evicting web-0 leaves 2 Ready (the budget's minimum): web-1 is refused until the
    // replacement of web-0, started on another worker, is Ready.
    expect(trail(rec.events, W10)).toEqual([
      "pull",
      "pull-done",
      "install",
      "cordon",
      "drain",
      "evict default/web-0",
      "evict-refused default/web-1",
      "evict default/web-1",
      "reboot",
      "wait",
      "verify",
      "wait",
      "uncordon",
    ]);
    const refusal = rec.events.find((e) => e.type === "evict-refused");
    expect(refusal).toMatchObject({
      budgets: ["web-pdb"],
      detail: "The disruption budget web-pdb needs 2 healthy pods and has 2 currently",
    });
    const log = kube.log.slice(from);
    const at = (line: string) => log.indexOf(line);
    const created = log.findIndex((l) => /^create default\/web-\w+ on node-1[12]$/.test(l));
    expect(at("evict default/web-0")).toBeLessThan(created);
    expect(created).toBeLessThan(at("refuse default/web-1 by web-pdb"));
    expect(at("refuse default/web-1 by web-pdb")).toBeLessThan(at("evict default/web-1"));
    expect(at("evict default/web-1")).toBeLessThan(at(`uncordon ${hostname(W10)}`));
    // No pod is ever deleted around its budget, and the budget ends whole.
    expect(log.some((l) => l.startsWith("delete "))).toBe(false);
    await kc.podsOn(hostname(W12));
    expect(kube.budgetStatus("default", "web-pdb")).toMatchObject({ currentHealthy: 3 });
    expect([...kube.nodes.values()].every((n) => !n.unschedulable)).toBe(true);
  });

  it("a budget that never allows a disruption stops the run at that node's drain: cordoned, not rebooted, nothing after it touched", async () => {
    neverDisrupted();
    const p = await plan(WORKERS.slice());
    const before = snapshot(env.sim);
    const from = kube.log.length;
    const err = await rejection(
      runUpgrade(
        env.client,
        p,
        // The gate would refuse first (see below): this is the drain's own guard.
        opts({
          drain: { timeoutMs: 500, intervalMs: 5, maxIntervalMs: 20 },
          gates: { kubernetes: false },
        }),
      ),
      UpgradeRunError,
    );
    expect({ node: err.node, code: err.code, step: err.step }).toEqual({
      node: W11,
      code: "UPGRADE_DRAIN_FAILED",
      step: "drain",
    });
    expect(err.message).toMatch(
      /draining node-11 did not finish within 500 ms: disruption budgets still refuse to evict 1 pod\(s\): default\/db-0 \(budget db-pdb: The disruption budget db-pdb needs 2 healthy pods and has 2 currently\)/,
    );
    expect(err.message).toMatch(/the node stays cordoned and was not rebooted/);
    // The drain's typed error is kept as the cause, with the blocked pods.
    let cause: unknown = err;
    while (cause && !(cause instanceof DrainTimeoutError)) cause = (cause as Error).cause;
    expect((cause as DrainTimeoutError).blocked.map((b) => [b.pod, b.budgets])).toEqual([
      ["default/db-0", ["db-pdb"]],
    ]);
    // Cordoned, installer written but not booted, pod still there; the next node untouched.
    expect(kube.nodes.get(hostname(W11))?.unschedulable).toBe(true);
    // The installer went on before the drain: the node's error says it is pending.
    expect((err.cause as UpgradeError).installPending).toBe(true);
    expect(err.message).toMatch(/is installed on 10.5.0.11 and pending/);
    const s = env.sim.node(W11).state;
    expect(s.version).toBe("v1.13.3");
    expect(s.bootId).toBe(before.get(W11)?.bootId);
    expect(s.boots).toBe(before.get(W11)?.boots);
    expect(kube.pods.some((x) => x.name === "db-0" && x.nodeName === hostname(W11))).toBe(true);
    expect(touched(env.sim, W12, before.get(W12) as never)).toBe(false);
    expect(kube.log.slice(from).some((l) => l.endsWith(hostname(W12)))).toBe(false);
    expect(err.summary.nodes.find((n) => n.node === W12)?.status).toBe("not-started");
  });

  it("with forceAfter the same run completes, and each pod deleted around its budget is reported", async () => {
    neverDisrupted(60);
    const from = kube.log.length;
    const rec = recorder();
    const summary = await runUpgrade(
      env.client,
      await plan(WORKERS.slice()),
      opts({
        drain: { timeoutMs: 5_000, forceAfterMs: 100, intervalMs: 5, maxIntervalMs: 20 },
        onEvent: rec.on,
      }),
    );
    expect(summary.ok).toBe(true);
    const forced = rec.events.flatMap((e) => (e.type === "pod-forced" ? [e] : []));
    expect(forced.map((e) => [e.node, e.pod, e.budgets, e.gracePeriodSeconds])).toContainEqual([
      W11,
      "default/db-0",
      ["db-pdb"],
      60,
    ]);
    // Every forced deletion was first refused, and is in the API's log with the pod's grace period.
    const log = kube.log.slice(from);
    for (const e of forced) {
      expect(log).toContain(`delete ${e.pod} grace=60`);
      expect(
        rec.events.some((r) => r.type === "evict-refused" && r.pod === e.pod && r.node === e.node),
      ).toBe(true);
    }
    expect(trail(rec.events, W11).slice(4, 7)).toEqual([
      "drain",
      "evict-refused default/db-0",
      "pod-forced default/db-0",
    ]);
    for (const a of WORKERS) expect(env.sim.node(a).state.version).toBe("v1.14.0");
    // The CLI prints a forced deletion so that it cannot pass unnoticed.
    let out = "";
    const print = progressPrinter({ stdout: () => {}, stderr: (t) => (out += t), env: {} });
    print(forced[0] as UpgradeEvent);
    expect(out).toBe(
      "10.5.0.11: FORCED deletion of default/db-0, bypassing budget db-pdb (grace 60s)\n",
    );
  });

  it("refuses a forceAfter not shorter than the drain timeout before touching any node", async () => {
    const p = await plan(WORKERS.slice());
    const before = snapshot(env.sim);
    const err = await runUpgrade(
      env.client,
      p,
      opts({ drain: { timeoutMs: 1_000, forceAfterMs: 2_000 } }),
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "UpgradeError", code: "UPGRADE_INVALID_ARGUMENT" });
    expect((err as Error).message).toMatch(
      /drain.forceAfterMs \(2000 ms\) must be .* less than the drain timeout \(1000 ms\)/,
    );
    for (const a of WORKERS) expect(touched(env.sim, a, before.get(a) as never)).toBe(false);
  });
});

describe("the Kubernetes gate before each worker batch (on by default with a kube client)", () => {
  it("refuses a batch whose pods a budget allows no disruption, naming the budget, before cordoning it", async () => {
    neverDisrupted();
    const p = await plan(WORKERS.slice());
    const before = snapshot(env.sim);
    const from = kube.log.length;
    const rec = recorder();
    const err = await rejection(
      runUpgrade(
        env.client,
        p,
        opts({ gates: { intervalMs: 5, timeoutMs: 300 }, onEvent: rec.on }),
      ),
      UpgradeRunError,
    );
    expect({ node: err.node, code: err.code, step: err.step }).toEqual({
      node: W11,
      code: "UPGRADE_DISRUPTION_BUDGET",
      step: "gate",
    });
    expect(err.message).toBe(
      "disruption budget default/db-pdb allows no disruption now (2 healthy, 2 needed, 2 expected) and covers pod default/db-0 on node-11 (10.5.0.11): refusing to take 10.5.0.11 down",
    );
    // The first batch had no such pod and went; the refused one was not touched at all.
    expect(env.sim.node(W10).state.version).toBe("v1.14.0");
    for (const a of [W11, W12]) expect(touched(env.sim, a, before.get(a) as never), a).toBe(false);
    expect(kube.log.slice(from)).toEqual([`cordon ${hostname(W10)}`, `uncordon ${hostname(W10)}`]);
    const gates = rec.events.flatMap((e) =>
      e.type === "gate" && e.gate === "kubernetes" ? [[e.node, e.ok]] : [],
    );
    expect(gates).toEqual([
      [W10, true],
      [W11, false],
    ]);
  });

  it("refuses a later batch while a node of the plan is NotReady", async () => {
    const p = await plan(WORKERS.slice());
    const before = snapshot(env.sim);
    const rec = recorder();
    const err = await rejection(
      runUpgrade(
        env.client,
        p,
        opts({
          gates: { intervalMs: 5, timeoutMs: 300 },
          onEvent: (e) => {
            rec.on(e);
            // node-12's kubelet breaks once the first worker is done.
            if (e.type === "node-done" && e.node === W10) {
              (kube.nodes.get(hostname(W12)) as { ready: boolean }).ready = false;
            }
          },
        }),
      ),
      UpgradeRunError,
    );
    expect({ node: err.node, code: err.code, step: err.step }).toEqual({
      node: W12,
      code: "UPGRADE_KUBERNETES_NOT_READY",
      step: "gate",
    });
    expect(err.message).toMatch(
      /^1 Kubernetes node\(s\) of the plan not Ready, first node-12 \(10.5.0.12\): NodeStatusUnknown.*: refusing to take 10.5.0.11 down$/,
    );
    expect(env.sim.node(W10).state.version).toBe("v1.14.0");
    expect(touched(env.sim, W11, before.get(W11) as never)).toBe(false);
    const batches = rec.events.flatMap((e) => (e.type === "batch-start" ? [e.nodes] : []));
    expect(batches).toEqual([[W10], [W11]]);
  });

  it("is off with gates.kubernetes false", async () => {
    (kube.nodes.get(hostname(W12)) as { ready: boolean }).ready = false;
    const rec = recorder();
    const s = await runUpgrade(
      env.client,
      await plan([W10]),
      opts({ gates: { kubernetes: false }, onEvent: rec.on }),
    );
    expect(s.ok).toBe(true);
    expect(rec.events.some((e) => e.type === "gate" && e.gate === "kubernetes")).toBe(false);
  });
});

describe("short disruption: the installer is on the node before it is cordoned", () => {
  it("pulls and installs before cordon and drain, and reports the pull time", async () => {
    const p = await plan();
    // The simulated nodes count every call; these are the counts before the run.
    const calls = (a: string) => {
      const n = env.sim.node(a);
      return {
        pulls: n.calls("/machine.ImageService/Pull"),
        installs: n.calls("/machine.LifecycleService/Upgrade"),
        reboots: n.calls("/machine.MachineService/Reboot"),
      };
    };
    const base = new Map([CP, ...WORKERS].map((a) => [a, calls(a)]));
    const since = (a: string) => {
      const now = calls(a);
      const b = base.get(a) as typeof now;
      return {
        pulls: now.pulls - b.pulls,
        installs: now.installs - b.installs,
        reboots: now.reboots - b.reboots,
      };
    };
    const seenAtCordon = new Map<string, ReturnType<typeof since> & { image: boolean }>();
    const rec = recorder();
    const summary = await runUpgrade(
      env.client,
      p,
      opts({
        onEvent: (e) => {
          rec.on(e);
          // What the simulated node had been asked when its cordon was about to be sent.
          if (e.type === "step" && e.step === "cordon") {
            const image = p.nodes.find((x) => x.node === e.node)?.steps[0]?.image ?? "";
            seenAtCordon.set(e.node, {
              ...since(e.node),
              image: env.sim.node(e.node).state.images.has(image),
            });
          }
        },
      }),
    );
    expect(summary.ok).toBe(true);
    for (const a of [CP, ...WORKERS]) {
      expect(seenAtCordon.get(a), a).toEqual({ pulls: 1, installs: 1, reboots: 0, image: true });
      expect(trail(rec.events, a).slice(0, 5)).toEqual([
        "pull",
        "pull-done",
        "install",
        "cordon",
        "drain",
      ]);
      const done = rec.events.find((e) => e.type === "pull-done" && e.node === a);
      const start = rec.events.find((e) => e.type === "node-start" && e.node === a);
      expect(done).toMatchObject({ image: (start as { image: string }).image });
      expect((done as { durationMs: number }).durationMs).toBeGreaterThanOrEqual(0);
      expect(since(a).reboots, a).toBe(1);
    }
    let out = "";
    const print = progressPrinter({ stdout: () => {}, stderr: (t) => (out += t), env: {} });
    print({
      type: "pull-done",
      node: CP,
      image: "factory/installer:v1.14.0",
      durationMs: 1234,
      at: 0,
    });
    expect(out).toBe("10.5.0.2: pulled factory/installer:v1.14.0 in 1.2s\n");
  });
});
