// Rolling cluster upgrades against the simulated cluster, factory and
// Kubernetes API, all over real sockets: order, schematics, drain, each
// fault stopping at the right node with nothing further touched, resumption.

import {
  type KubernetesSimulator,
  type SimNodeOptions,
  startKubernetesSimulator,
} from "@taloskit/testing";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { KubeClient } from "../../src/kubernetes/index.js";
import {
  planUpgrade,
  runUpgrade,
  UpgradeError,
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
  SCHEMATIC_B,
  SCHEMATIC_C,
  snapshot,
  startEnv,
  touched,
} from "./helpers.js";

const CPS = ["10.5.0.2", "10.5.0.3", "10.5.0.4"];
const WORKERS = ["10.5.0.10", "10.5.0.11", "10.5.0.12", "10.5.0.13", "10.5.0.14"];
const hostname = (a: string) => `node-${a.split(".").at(-1)}`;

function nodes(version: string): SimNodeOptions[] {
  return [
    ...CPS.map((address) => ({
      address,
      hostname: hostname(address),
      role: "controlplane" as const,
      version,
      schematic: SCHEMATIC_A,
    })),
    ...WORKERS.map((address, i) => ({
      address,
      hostname: hostname(address),
      role: "worker" as const,
      version,
      // Two workers run another schematic (say, with GPU extensions): it must be kept.
      schematic: i < 2 ? SCHEMATIC_C : SCHEMATIC_A,
      platform: i === 4 ? "aws" : "metal",
    })),
  ];
}

const starts = (events: UpgradeEvent[]) =>
  events.flatMap((e) => (e.type === "node-start" ? [`${e.node}@${e.to}`] : []));

const runError = (p: Promise<unknown>) => rejection(p, UpgradeRunError);

/** One node's trail through a run: its steps, Kubernetes readiness and done, in order. */
const trail = (events: UpgradeEvent[], node: string) =>
  events.flatMap((e) => {
    if (e.type === "step" && e.node === node) return [e.step as string];
    if (e.type === "kubernetes-node" && e.node === node) return [e.ready ? "Ready" : "NotReady"];
    if (e.type === "node-done" && e.node === node) return ["node-done"];
    return [];
  });

describe("3 control planes + 5 workers across two minor versions", () => {
  let env: Env;
  let kube: KubernetesSimulator;
  let readiness: ReturnType<typeof kubeletReadiness>;

  beforeAll(async () => {
    env = await startEnv(nodes("v1.11.5"));
    readiness = kubeletReadiness(env.sim);
    kube = await startKubernetesSimulator({
      nodes: [...CPS, ...WORKERS].map(hostname),
      version: "v1.34.1",
      // Each Node is Ready only while its Talos node runs (the hook connects the simulators).
      isReady: (name) => readiness.isReady(name),
      pods: WORKERS.flatMap((w) => [
        {
          namespace: "default",
          name: `app-${hostname(w)}`,
          nodeName: hostname(w),
        },
        {
          namespace: "kube-system",
          name: `proxy-${hostname(w)}`,
          nodeName: hostname(w),
          ownerKind: "DaemonSet",
        },
        {
          namespace: "kube-system",
          name: `mirror-${hostname(w)}`,
          nodeName: hostname(w),
          mirror: true,
        },
      ]),
    });
  });
  afterAll(async () => {
    await kube?.close();
    await env?.close();
  });

  it("plans 1.11 -> 1.13.3 -> 1.14.0 (1.14 refuses 1.11 hosts) keeping each node's schematic, platform and installer kind", async () => {
    const kc = KubeClient.fromKubeconfig(kube.kubeconfig());
    const plan = await planUpgrade(env.client, {
      to: "v1.14.0",
      factory: env.factoryClient,
      kube: kc,
    });
    expect(plan.kubernetes).toMatchObject({
      version: "v1.34.1",
      source: "kubernetes-api",
      ok: true,
    });
    expect(plan.nodes.map((n) => n.node)).toEqual([...CPS, ...WORKERS]);
    expect(plan.waves.map((w) => w.version)).toEqual(["v1.13.3", "v1.14.0"]);
    const w0 = plan.nodes.find((n) => n.node === WORKERS[0]);
    expect(w0?.steps.map((s) => [s.version, s.method])).toEqual([
      ["v1.13.3", "legacy"],
      ["v1.14.0", "lifecycle"],
    ]);
    const host = new URL(env.factory.url).host;
    expect(w0?.steps[1]?.image).toBe(`${host}/metal-installer/${SCHEMATIC_C}:v1.14.0`);
    expect(plan.nodes.find((n) => n.node === WORKERS[4])?.steps[0]?.image).toBe(
      `${host}/aws-installer/${SCHEMATIC_A}:v1.13.3`,
    );
  });

  it("without a kubeconfig, reads the Kubernetes version from a control plane's kubelet", async () => {
    const cp = env.sim.node("10.5.0.2");
    cp.state.kubernetesVersion = "v1.33.4";
    cp.touch();
    try {
      const plan = await planUpgrade(env.client, { to: "v1.14.0", factory: env.factoryClient });
      expect(plan.kubernetes).toMatchObject({ version: "v1.33.4", source: "node", ok: true });
    } finally {
      cp.state.kubernetesVersion = "v1.34.1";
      cp.touch();
    }
  });

  it("refuses a Kubernetes version a Talos on the path does not support", async () => {
    const e = await planUpgrade(env.client, {
      to: "v1.14.0",
      factory: env.factoryClient,
      kubernetesVersion: "1.30.2",
    }).catch((error: unknown) => error);
    expect(e).toBeInstanceOf(UpgradeError);
    expect(e).toMatchObject({ code: "UPGRADE_KUBERNETES_INCOMPATIBLE" });
    expect((e as Error).message).toMatch(/Talos v1.13.3 supports Kubernetes 1.31 to 1.36/);
  });

  it("upgrades control planes one at a time, then workers in batches, per version, with drain", async () => {
    const kc = KubeClient.fromKubeconfig(kube.kubeconfig());
    const plan = await planUpgrade(env.client, {
      to: "v1.14.0",
      factory: env.factoryClient,
      kube: kc,
    });
    const rec = recorder();
    const summary = await runUpgrade(env.client, plan, {
      ...FAST,
      batchSize: 2,
      kube: kc,
      drain: { intervalMs: 5 },
      gates: { intervalMs: 5, timeoutMs: 5_000 },
      onEvent: rec.on,
    });
    expect(summary.ok).toBe(true);
    const order = (v: string) => [...CPS, ...WORKERS].map((n) => `${n}@${v}`);
    expect(starts(rec.events)).toEqual([...order("v1.13.3"), ...order("v1.14.0")]);
    // Control planes strictly one at a time: each finishes before the next starts.
    const cpTrail = rec.events.flatMap((e) =>
      (e.type === "node-start" || e.type === "node-done") && CPS.includes(e.node)
        ? [`${e.type}:${e.node}`]
        : [],
    );
    for (let i = 0; i < cpTrail.length; i += 2) {
      expect(cpTrail[i]?.replace("node-start:", "")).toBe(
        cpTrail[i + 1]?.replace("node-done:", ""),
      );
    }
    // Workers in batches of two.
    const batches = rec.events.flatMap((e) => (e.type === "batch-start" ? [e.nodes] : []));
    expect(batches.slice(0, 3)).toEqual([
      WORKERS.slice(0, 2),
      WORKERS.slice(2, 4),
      WORKERS.slice(4),
    ]);
    // An etcd gate passed before each control-plane node.
    expect(rec.events.filter((e) => e.type === "gate" && e.ok).length).toBeGreaterThanOrEqual(6);
    // Per wave: one gate before the first control plane, then one after each (which is
    // also the next one's gate): 2 waves x (1 + 3), not a second check right after each.
    const cpGates = rec.events.filter(
      (e) => e.type === "gate" && e.gate === "etcd" && e.ok && CPS.includes(e.node ?? ""),
    );
    expect(cpGates.length).toBe(8);
    for (const [i, w] of WORKERS.entries()) {
      const s = env.sim.node(w).state;
      expect(s.version).toBe("v1.14.0");
      expect(s.schematic).toBe(i < 2 ? SCHEMATIC_C : SCHEMATIC_A);
    }
    for (const cp of CPS)
      expect(env.sim.node(cp).state).toMatchObject({ version: "v1.14.0", schematic: SCHEMATIC_A });
    expect(summary.nodes.every((n) => n.status === "upgraded")).toBe(true);
    expect(summary.nodes[0]?.installed).toEqual(["v1.13.3", "v1.14.0"]);
    // Drain: workload pods evicted, DaemonSet and mirror pods left,
    // each node cordoned before and uncordoned after, and schedulable at the end.
    const w = hostname(WORKERS[0] as string);
    const mine = kube.log.filter((l) => l.endsWith(w) || l.includes(`-${w}`));
    expect(mine.slice(0, 3)).toEqual([`cordon ${w}`, `evict default/app-${w}`, `uncordon ${w}`]);
    expect(kube.pods.filter((p) => p.namespace === "default")).toEqual([]);
    expect(
      kube.pods
        .filter((p) => p.nodeName === w)
        .map((p) => p.name)
        .sort(),
    ).toEqual([`mirror-${w}`, `proxy-${w}`].sort());
    expect([...kube.nodes.values()].every((n) => !n.unschedulable)).toBe(true);
  });

  it("skips every node when the same plan runs again", async () => {
    const plan = await planUpgrade(env.client, { to: "v1.14.0", factory: env.factoryClient });
    expect(plan.nodes.every((n) => n.action === "skip")).toBe(true);
    const before = snapshot(env.sim);
    const s = await runUpgrade(env.client, plan, { ...FAST });
    expect(s.ok).toBe(true);
    for (const n of env.sim.nodes) expect(n.state.bootId).toBe(before.get(n.address)?.bootId);
  });

  it("installs a new schematic at the same version (from hardware resolution, say)", async () => {
    const plan = await planUpgrade(env.client, {
      to: "v1.14.0",
      factory: env.factoryClient,
      nodes: [WORKERS[0] as string],
      subset: true,
      schematic: { [WORKERS[0] as string]: SCHEMATIC_B },
    });
    expect(plan.nodes[0]?.steps.map((s) => s.version)).toEqual(["v1.14.0"]);
    await runUpgrade(env.client, plan, { ...FAST });
    expect(env.sim.node(WORKERS[0] as string).state.schematic).toBe(SCHEMATIC_B);
  });

  it("a Kubernetes Node is NotReady while its Talos node is down and Ready when it is back", async () => {
    const a = WORKERS[3] as string;
    const name = hostname(a);
    const kc = KubeClient.fromKubeconfig(kube.kubeconfig());
    expect(await kc.node(name)).toMatchObject({ name, ready: true, kubeletVersion: "v1.34.1" });
    const n = env.sim.node(a);
    env.sim.faults.neverReturn(a);
    try {
      n.reboot();
      await vi.waitFor(() => expect(n.down).toBe(true), { timeout: 10_000, interval: 5 });
      const down = await kc.node(name);
      expect(down).toMatchObject({ ready: false, kubeletVersion: "v1.34.1" });
      expect(down.reason).toMatch(/NodeStatusUnknown/);
      expect((await kc.nodes()).find((k) => k.name === name)?.ready).toBe(false);
      expect((await kc.nodes()).filter((k) => k.ready).length).toBe(
        CPS.length + WORKERS.length - 1,
      );
    } finally {
      n.powerOn();
    }
    expect((await kc.node(name)).ready).toBe(true);
  });

  it("waits for each node's Kubernetes Node to be Ready again before uncordoning it, behind a Kubernetes gate", async () => {
    const kc = KubeClient.fromKubeconfig(kube.kubeconfig());
    const cp = CPS[0] as string;
    const w = WORKERS[1] as string;
    const plan = await planUpgrade(env.client, {
      to: "v1.14.0",
      factory: env.factoryClient,
      nodes: [cp, w],
      subset: true,
      schematic: { [cp]: SCHEMATIC_B, [w]: SCHEMATIC_B },
    });
    expect(plan.nodes.map((n) => n.action)).toEqual(["upgrade", "upgrade"]);
    const logFrom = kube.log.length;
    const rec = recorder();
    // Each kubelet needs two more status reads after the boot before it reports Ready.
    readiness.lag = 2;
    let summary: Awaited<ReturnType<typeof runUpgrade>>;
    try {
      summary = await runUpgrade(env.client, plan, {
        ...FAST,
        kube: kc,
        drain: { intervalMs: 5 },
        kubernetes: { intervalMs: 5, readyTimeoutMs: 30_000 },
        gates: { kubernetes: true, intervalMs: 5, timeoutMs: 30_000 },
        onEvent: rec.on,
      });
    } finally {
      readiness.lag = 0;
    }
    expect(summary.ok).toBe(true);
    // Drained, rebooted, back, NotReady then Ready again, and only then uncordoned.
    for (const a of [cp, w]) {
      expect(trail(rec.events, a), a).toEqual([
        "pull",
        "install",
        "cordon",
        "drain",
        "reboot",
        "wait",
        "verify",
        "wait",
        "NotReady",
        "Ready",
        "node-done",
        "uncordon",
      ]);
      const k8s = rec.events.filter((e) => e.type === "kubernetes-node" && e.node === a);
      expect(k8s[0]).toMatchObject({ name: hostname(a), ready: false });
      expect((k8s[0] as { detail: string }).detail).toMatch(/NodeStatusUnknown/);
      expect(k8s[1]).toMatchObject({ ready: true, kubeletVersion: "v1.34.1", detail: "" });
      expect(env.sim.node(a).state.schematic).toBe(SCHEMATIC_B);
    }
    // The Kubernetes gate passed before the control plane went down.
    const gate = rec.events.findIndex(
      (e) => e.type === "gate" && e.gate === "kubernetes" && e.ok && e.node === cp,
    );
    const start = rec.events.findIndex((e) => e.type === "node-start" && e.node === cp);
    expect(gate).toBeGreaterThanOrEqual(0);
    expect(gate).toBeLessThan(start);
    expect(kube.log.slice(logFrom)).toEqual([
      `cordon ${hostname(cp)}`,
      `uncordon ${hostname(cp)}`,
      `cordon ${hostname(w)}`,
      `uncordon ${hostname(w)}`,
    ]);
    expect([...kube.nodes.values()].every((n) => !n.unschedulable)).toBe(true);
  });
});

describe("faults stop the run at the right node, touch nothing further, and a re-run resumes", () => {
  let env: Env;
  let kube: KubernetesSimulator;
  let readiness: ReturnType<typeof kubeletReadiness>;
  const opts = { ...FAST, gates: { intervalMs: 5, timeoutMs: 1_000 } };

  beforeAll(async () => {
    env = await startEnv(nodes("v1.13.3"));
    readiness = kubeletReadiness(env.sim);
    kube = await startKubernetesSimulator({
      nodes: [...CPS, ...WORKERS].map(hostname),
      isReady: (name) => readiness.isReady(name),
    });
  });
  afterAll(async () => {
    await kube?.close();
    await env?.close();
  });

  function reset(): void {
    clearNodeFaults(env.sim);
    readiness.clear();
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
  }

  async function check(
    fault: () => void,
    expected: { node: string; code: string; step: string },
    opts2: Record<string, unknown> = {},
  ) {
    reset();
    const plan = await planUpgrade(env.client, { to: "v1.14.0", factory: env.factoryClient });
    fault();
    const before = snapshot(env.sim);
    const rec = recorder();
    const err = await runError(
      runUpgrade(env.client, plan, { ...opts, ...opts2, onEvent: rec.on }),
    );
    expect({ node: err.node, code: err.code, step: err.step }).toEqual(expected);
    const all = [...CPS, ...WORKERS];
    const after = all.slice(all.indexOf(expected.node) + 1);
    for (const a of after) expect(touched(env.sim, a, before.get(a) as never), a).toBe(false);
    expect(err.summary.nodes.find((n) => n.node === expected.node)?.status).toBe("failed");
    for (const a of after)
      expect(err.summary.nodes.find((n) => n.node === a)?.status).toBe("not-started");
    expect(rec.events.at(-1)).toMatchObject({ type: "run-done", ok: false });
    return { err, plan };
  }

  it("a failed pull on a worker; a re-run of the same plan resumes after the fault is fixed", async () => {
    const bad = WORKERS[2] as string;
    const { err, plan } = await check(() => env.sim.faults.failPull(bad, "manifest unknown"), {
      node: bad,
      code: "UPGRADE_PULL_FAILED",
      step: "pull",
    });
    expect(err.message).toMatch(/manifest unknown/);
    env.sim.faults.failPull(bad, null);
    const done = new Set([...CPS, ...WORKERS.slice(0, 2)]);
    const before = snapshot(env.sim);
    const rec = recorder();
    const s = await runUpgrade(env.client, plan, { ...opts, onEvent: rec.on });
    expect(s.ok).toBe(true);
    expect(starts(rec.events)).toEqual(WORKERS.slice(2).map((w) => `${w}@v1.14.0`));
    for (const a of done) expect(env.sim.node(a).state.bootId).toBe(before.get(a)?.bootId);
    expect(
      rec.events.filter((e) => e.type === "node-skip").map((e) => (e as { node: string }).node),
    ).toEqual([...done]);
    for (const n of env.sim.nodes) expect(n.state.version).toBe("v1.14.0");
  });

  it("a non-zero installer exit code on a control plane", async () => {
    await check(() => env.sim.faults.installerExitCode(CPS[1] as string, 7), {
      node: CPS[1] as string,
      code: "UPGRADE_INSTALL_FAILED",
      step: "install",
    });
  });

  it("a control plane that never comes back", async () => {
    const { err } = await check(
      () => env.sim.faults.neverReturn(CPS[1] as string),
      { node: CPS[1] as string, code: "UPGRADE_NODE_NOT_READY", step: "wait" },
      // Long enough for a healthy node to come back on a loaded machine.
      { timeouts: { ...FAST.timeouts, rebootMs: 2_000 } },
    );
    expect(err.message).toMatch(/did not come back/);
  });

  it("unhealthy etcd refuses to take a control plane down", async () => {
    const { err } = await check(() => env.sim.faults.etcdUnhealthy(CPS[2] as string), {
      node: CPS[2] as string,
      code: "UPGRADE_ETCD_UNHEALTHY",
      step: "gate",
    });
    expect(err.message).toMatch(/etcd on 10.5.0.4 is not healthy/);
    // The gate ran before the first control plane: nothing at all was touched.
    for (const a of [...CPS, ...WORKERS]) expect(env.sim.node(a).state.version).toBe("v1.13.3");
  });

  it("an abort before the first node is read is UPGRADE_ABORTED, not an unhealthy node", async () => {
    reset();
    const plan = await planUpgrade(env.client, { to: "v1.14.0", factory: env.factoryClient });
    const ac = new AbortController();
    ac.abort();
    const err = await runError(
      runUpgrade(env.client, plan, { ...opts, gates: { etcd: false }, signal: ac.signal }),
    );
    expect({ node: err.node, code: err.code, step: err.step }).toEqual({
      node: CPS[0],
      code: "UPGRADE_ABORTED",
      step: "gate",
    });
    for (const a of [...CPS, ...WORKERS]) expect(env.sim.node(a).state.version).toBe("v1.13.3");
  });

  it("a kubelet that never becomes Ready after its reboot stops the run at that node, cordoned", async () => {
    const bad = WORKERS[2] as string;
    const logFrom = kube.log.length;
    const { err } = await check(
      () => readiness.breakAfterReboot(bad),
      { node: bad, code: "UPGRADE_KUBERNETES_NOT_READY", step: "wait" },
      {
        kube: KubeClient.fromKubeconfig(kube.kubeconfig()),
        drain: { intervalMs: 5 },
        // Healthy nodes are Ready at the first read; this only bounds the broken one.
        kubernetes: { intervalMs: 5, readyTimeoutMs: 3_000 },
      },
    );
    expect(err.message).toMatch(/node-12 is not Ready within 3000 ms/);
    // The Kubernetes client's own typed error is the cause of the node's failure.
    expect((err.cause as UpgradeError).cause).toMatchObject({
      name: "KubernetesError",
      code: "KUBERNETES_NODE_NOT_READY",
    });
    expect(err.message).toMatch(/NodeStatusUnknown/);
    expect(err.message).toMatch(/stays cordoned/);
    // It was upgraded and rebooted, but is left cordoned; nothing after it was cordoned.
    expect(env.sim.node(bad).state.version).toBe("v1.14.0");
    expect(kube.nodes.get(hostname(bad))?.unschedulable).toBe(true);
    const log = kube.log.slice(logFrom);
    expect(log.at(-1)).toBe(`cordon ${hostname(bad)}`);
    for (const a of WORKERS.slice(3)) expect(log.some((l) => l.endsWith(hostname(a)))).toBe(false);
  });

  it("a kubelet reporting another version than expected is not Ready for the upgrade", async () => {
    const { err } = await check(
      () => {},
      { node: CPS[0] as string, code: "UPGRADE_KUBERNETES_NOT_READY", step: "wait" },
      {
        kube: KubeClient.fromKubeconfig(kube.kubeconfig()),
        kubernetes: { intervalMs: 5, readyTimeoutMs: 1_000, kubeletVersion: "v1.35.0" },
      },
    );
    expect(err.message).toMatch(/its kubelet reports v1.34.1, not v1.35.0/);
  });

  it("the Kubernetes gate refuses to take a control plane down while a node of the plan is NotReady", async () => {
    const bad = WORKERS[4] as string;
    const logFrom = kube.log.length;
    const { err } = await check(
      () => {
        (kube.nodes.get(hostname(bad)) as { ready: boolean }).ready = false;
      },
      { node: bad, code: "UPGRADE_KUBERNETES_NOT_READY", step: "gate" },
      {
        kube: KubeClient.fromKubeconfig(kube.kubeconfig()),
        gates: { kubernetes: true, intervalMs: 5, timeoutMs: 1_000 },
      },
    );
    expect(err.message).toMatch(/first node-14 \(10.5.0.14\).*refusing to take 10.5.0.2 down/);
    for (const a of [...CPS, ...WORKERS]) expect(env.sim.node(a).state.version).toBe("v1.13.3");
    expect(kube.log.slice(logFrom)).toEqual([]);
  });

  it("dry run reports the plan and touches nothing", async () => {
    reset();
    const plan = await planUpgrade(env.client, { to: "v1.14.0", factory: env.factoryClient });
    const before = snapshot(env.sim);
    const s = await runUpgrade(env.client, plan, { dryRun: true });
    expect(s.nodes.every((n) => n.status === "planned")).toBe(true);
    for (const a of [...CPS, ...WORKERS])
      expect(touched(env.sim, a, before.get(a) as never)).toBe(false);
  });
});
