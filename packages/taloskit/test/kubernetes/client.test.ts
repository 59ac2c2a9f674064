// The Kubernetes client against the simulated API server over real TLS:
// discovery fields of Nodes, drains under real PodDisruptionBudgets (retried
// while a budget refuses, unblocked by the ReplicaSet controller, a timeout
// naming the pods and budgets, the explicit force fallback), waits that give
// up with typed errors, and transport failures as KubernetesErrors.
import { type AddressInfo, createServer } from "node:net";
import { TalosError } from "@taloskit/core";
import {
  BUDGET_REFUSAL,
  type KubernetesSimulator,
  type KubeSimPdb,
  type KubeSimPod,
  startKubernetesSimulator,
} from "@taloskit/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type BlockedPod,
  DrainTimeoutError,
  KubeApiError,
  KubeClient,
  type KubeNode,
  type KubePod,
  KubernetesError,
} from "../../src/kubernetes/index.js";
import { kubeconfigOptions } from "../../src/kubernetes/kubeconfig.js";

let kube: KubernetesSimulator;
let client: KubeClient;

/** Three replicas of a ReplicaSet, labelled app=<app>. */
const replicas = (app: string, nodes: string[], extra: Partial<KubeSimPod> = {}): KubeSimPod[] =>
  nodes.map((nodeName, i) => ({
    namespace: "default",
    name: `${app}-${i}`,
    nodeName,
    labels: { app },
    ownerKind: "ReplicaSet",
    ownerName: app,
    ...extra,
  }));

beforeAll(async () => {
  kube = await startKubernetesSimulator({
    nodes: [
      {
        name: "cp-1",
        controlPlane: true,
        addresses: [
          { type: "InternalIP", address: "10.5.0.2" },
          { type: "InternalIP", address: "fd00::2" },
          { type: "ExternalIP", address: "203.0.113.2" },
          { type: "Hostname", address: "cp-1" },
        ],
        osImage: "Talos (v1.13.3)",
        architecture: "arm64",
      },
      "node-1",
      "node-2",
      "node-3",
    ],
  });
  client = KubeClient.fromKubeconfig(kube.kubeconfig());
});
afterAll(async () => {
  await kube?.close();
});
afterEach(() => {
  // Each test sets up its own pods and budgets.
  kube.pods.splice(0);
  kube.budgets.splice(0);
  for (const n of kube.nodes.values()) {
    n.unschedulable = false;
    n.ready = true;
  }
});

function setup(pods: KubeSimPod[], budgets: KubeSimPdb[] = []): number {
  kube.pods.push(...pods);
  kube.budgets.push(...budgets);
  return kube.log.length;
}

async function failure(p: Promise<unknown>): Promise<KubernetesError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KubernetesError);
  expect(error).toBeInstanceOf(TalosError);
  return error as KubernetesError;
}

const fast = { intervalMs: 5, maxIntervalMs: 20 };

/** The connection settings of the simulator's kubeconfig. */
const kubeconfigOptionsOf = (k: KubernetesSimulator) => kubeconfigOptions(k.kubeconfig());

describe("KubeClient: nodes", () => {
  it("lists each Node with what cluster discovery needs", async () => {
    const nodes = await client.nodes();
    expect(nodes.map((n) => n.name)).toEqual(["cp-1", "node-1", "node-2", "node-3"]);
    expect(nodes[0]).toEqual({
      name: "cp-1",
      ready: true,
      reason: "",
      kubeletVersion: "v1.34.1",
      unschedulable: false,
      addresses: [
        { type: "InternalIP", address: "10.5.0.2" },
        { type: "InternalIP", address: "fd00::2" },
        { type: "ExternalIP", address: "203.0.113.2" },
        { type: "Hostname", address: "cp-1" },
      ],
      internalIPs: ["10.5.0.2", "fd00::2"],
      externalIPs: ["203.0.113.2"],
      hostname: "cp-1",
      controlPlane: true,
      osImage: "Talos (v1.13.3)",
      architecture: "arm64",
    } satisfies KubeNode);
    expect(nodes[1]).toMatchObject({
      controlPlane: false,
      internalIPs: [],
      externalIPs: [],
      hostname: "node-1",
      architecture: "amd64",
    });
  });
});

describe("KubeClient: drain under disruption budgets", () => {
  it("leaves DaemonSet, mirror and finished pods; evicts the rest", async () => {
    setup([
      { namespace: "kube-system", name: "proxy", nodeName: "node-1", ownerKind: "DaemonSet" },
      { namespace: "kube-system", name: "static", nodeName: "node-1", mirror: true },
      { namespace: "default", name: "job", nodeName: "node-1", phase: "Succeeded" },
      { namespace: "default", name: "lone", nodeName: "node-1" },
    ]);
    const r = await client.drain("node-1", fast);
    expect(r.evicted.map((p) => p.name)).toEqual(["lone"]);
    expect(r.forced).toEqual([]);
    expect(kube.pods.map((p) => p.name).sort()).toEqual(["job", "proxy", "static"]);
  });

  it("a budget (minAvailable 2 of 3) blocks the second eviction until the ReplicaSet's new pod is Ready", async () => {
    // Upstream: the disruption controller counts Ready pods (countHealthyPods) against
    // minAvailable; the Eviction API answers 429 while disruptionsAllowed is 0
    // (eviction.go checkAndDecrement). A new replica starts on a schedulable node.
    const from = setup(replicas("web", ["node-1", "node-1", "node-2"]), [
      { namespace: "default", name: "web-pdb", matchLabels: { app: "web" }, minAvailable: 2 },
    ]);
    await client.cordon("node-1");
    const refused: BlockedPod[] = [];
    const r = await client.drain("node-1", { ...fast, onRefused: (_, b) => refused.push(b) });
    expect(r.evicted.map((p) => p.name)).toEqual(["web-0", "web-1"]);
    expect(refused).toEqual([
      {
        pod: "default/web-1",
        budgets: ["web-pdb"],
        reason: "The disruption budget web-pdb needs 2 healthy pods and has 2 currently",
      },
    ]);
    const log = kube.log.slice(from);
    expect(log[0]).toBe("cordon node-1");
    expect(log[1]).toBe("evict default/web-0");
    expect(log[2]).toMatch(/^create default\/web-[0-9a-f]{5} on node-[23]$/);
    expect(log[3]).toBe("refuse default/web-1 by web-pdb");
    expect(log[4]).toBe("evict default/web-1");
    // Both replacements run elsewhere, and the budget is whole again.
    expect(kube.pods.filter((p) => p.nodeName === "node-1")).toEqual([]);
    expect(kube.pods.length).toBe(3);
    await client.podsOn("node-2");
    expect(kube.budgetStatus("default", "web-pdb")).toMatchObject({
      currentHealthy: 3,
      desiredHealthy: 2,
      expectedPods: 3,
      disruptionsAllowed: 1,
    });
  });

  it("the 429 is a Status as the API server writes it, cause DisruptionBudget naming the budget", async () => {
    setup(replicas("db", ["node-1", "node-2"]), [
      { namespace: "default", name: "db-pdb", matchLabels: { app: "db" }, maxUnavailable: 0 },
    ]);
    const err = await failure(
      client.request("POST", "/api/v1/namespaces/default/pods/db-0/eviction", {
        apiVersion: "policy/v1",
        kind: "Eviction",
        metadata: { name: "db-0", namespace: "default" },
      }),
    );
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).status).toBe(429);
    expect((err as KubeApiError).body).toEqual({
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      message: BUDGET_REFUSAL,
      reason: "TooManyRequests",
      details: {
        causes: [
          {
            reason: "DisruptionBudget",
            message: "The disruption budget db-pdb needs 2 healthy pods and has 2 currently",
          },
        ],
      },
      code: 429,
    });
  });

  it("a budget that never allows a disruption times the drain out, naming the pod and the budget", async () => {
    setup(replicas("db", ["node-1", "node-2"]), [
      { namespace: "default", name: "db-pdb", matchLabels: { app: "db" }, maxUnavailable: 0 },
    ]);
    const err = await failure(client.drain("node-1", { ...fast, drainTimeoutMs: 300 }));
    expect(err).toBeInstanceOf(DrainTimeoutError);
    expect(err.code).toBe("KUBERNETES_DRAIN_TIMEOUT");
    expect(err.message).toBe(
      "draining node-1 did not finish within 300 ms: disruption budgets still refuse to evict 1 pod(s): " +
        "default/db-0 (budget db-pdb: The disruption budget db-pdb needs 2 healthy pods and has 2 currently)",
    );
    expect((err as DrainTimeoutError).blocked).toEqual([
      {
        pod: "default/db-0",
        budgets: ["db-pdb"],
        reason: "The disruption budget db-pdb needs 2 healthy pods and has 2 currently",
      },
    ]);
    expect(kube.pods.some((p) => p.name === "db-0")).toBe(true);
  });

  it("retries with a doubling delay, not at a fixed rate", async () => {
    setup(replicas("db", ["node-1", "node-2"]), [
      { namespace: "default", name: "db-pdb", matchLabels: { app: "db" }, maxUnavailable: 0 },
    ]);
    // The same client over the same socket path, noting when each eviction is sent.
    const sent: number[] = [];
    const timed = new (class extends KubeClient {
      override request(...args: Parameters<KubeClient["request"]>) {
        if (args[1].endsWith("/eviction")) sent.push(performance.now());
        return super.request(...args);
      }
    })({ ...kubeconfigOptionsOf(kube) });
    await failure(
      timed.drain("node-1", { intervalMs: 20, maxIntervalMs: 80, drainTimeoutMs: 600 }),
    );
    // Each gap is at least its delay (20, 40, 80, 80, ...): load can only stretch them.
    const gaps = sent.slice(1).map((t, i) => t - (sent[i] as number));
    for (const [i, g] of gaps.entries()) {
      expect(g).toBeGreaterThanOrEqual(Math.min(80, 20 * 2 ** i) - 2);
    }
    // So at most 1 + 8 tries fit in 600 ms (20+40+80*6 = 540); a fixed 20 ms would allow 30.
    expect(sent.length).toBeLessThanOrEqual(9);
  });

  it("with forceAfterMs, deletes the pods still refused with their own grace period and reports each", async () => {
    const from = setup(
      [
        ...replicas("db", ["node-1", "node-2"], { terminationGracePeriodSeconds: 45 }),
        { namespace: "default", name: "free", nodeName: "node-1" },
      ],
      [{ namespace: "default", name: "db-pdb", matchLabels: { app: "db" }, maxUnavailable: 0 }],
    );
    const forced: [KubePod, BlockedPod][] = [];
    const r = await client.drain("node-1", {
      ...fast,
      drainTimeoutMs: 5_000,
      forceAfterMs: 100,
      onForce: (p, b) => forced.push([p, b]),
    });
    expect(r.evicted.map((p) => p.name)).toEqual(["free"]);
    expect(r.forced.map((p) => p.name)).toEqual(["db-0"]);
    expect(forced.map(([p, b]) => [p.name, p.terminationGracePeriodSeconds, b.budgets])).toEqual([
      ["db-0", 45, ["db-pdb"]],
    ]);
    const log = kube.log.slice(from);
    expect(log).toContain("delete default/db-0 grace=45");
    expect(log.indexOf("refuse default/db-0 by db-pdb")).toBeLessThan(
      log.indexOf("delete default/db-0 grace=45"),
    );
    expect(kube.pods.filter((p) => p.nodeName === "node-1")).toEqual([]);
  });

  it("refuses a forceAfterMs not shorter than the drain timeout before touching anything", async () => {
    setup([{ namespace: "default", name: "lone", nodeName: "node-1" }]);
    const from = kube.requests.length;
    const err = await failure(
      client.drain("node-1", { drainTimeoutMs: 1_000, forceAfterMs: 1_000 }),
    );
    expect(err.code).toBe("KUBERNETES_INVALID_ARGUMENT");
    expect(err.message).toMatch(/forceAfterMs \(1000\) must be at least 0 and less than/);
    expect(kube.requests.slice(from)).toEqual([]);
  });

  it("a pod under two budgets is an error of the API server, not a retry", async () => {
    // eviction.go: more than one PodDisruptionBudget selecting a pod is a 500.
    setup(replicas("web", ["node-1", "node-2"]), [
      { namespace: "default", name: "a", matchLabels: { app: "web" }, minAvailable: 1 },
      { namespace: "default", name: "b", matchLabels: { app: "web" }, minAvailable: 1 },
    ]);
    const err = await failure(client.drain("node-1", fast));
    expect(err).toMatchObject({ name: "KubeApiError", status: 500 });
    expect(err.message).toMatch(/more than one PodDisruptionBudget/);
  });

  it("lists budgets with their status", async () => {
    setup(replicas("web", ["node-1", "node-2", "node-3"]), [
      { namespace: "default", name: "web-pdb", matchLabels: { app: "web" }, maxUnavailable: "34%" },
    ]);
    expect(await client.disruptionBudgets()).toEqual([
      {
        namespace: "default",
        name: "web-pdb",
        selector: { matchLabels: { app: "web" }, matchExpressions: [] },
        minAvailable: undefined,
        maxUnavailable: "34%",
        // 34% of 3 rounds up to 2 unavailable: 1 must stay healthy.
        currentHealthy: 3,
        desiredHealthy: 1,
        expectedPods: 3,
        disruptionsAllowed: 2,
      },
    ]);
  });
});

describe("KubeClient: waits and failures", () => {
  it("a Node that stays NotReady is KUBERNETES_NODE_NOT_READY with the last state seen", async () => {
    (kube.nodes.get("node-2") as { ready: boolean }).ready = false;
    const seen: (KubeNode | undefined)[] = [];
    const err = await failure(
      client.waitForNodeReady("node-2", {
        intervalMs: 5,
        readyTimeoutMs: 200,
        onChange: (n) => seen.push(n),
      }),
    );
    expect(err.code).toBe("KUBERNETES_NODE_NOT_READY");
    expect(err.message).toMatch(
      /^Kubernetes node node-2 is not Ready within 200 ms: it is not Ready \(/,
    );
    // The first state is reported once, not at every poll.
    expect(seen.length).toBe(1);
    expect(seen[0]).toMatchObject({ name: "node-2", ready: false });
    (kube.nodes.get("node-2") as { ready: boolean }).ready = true;
    expect(await client.waitForNodeReady("node-2", { intervalMs: 5 })).toMatchObject({
      ready: true,
    });
  });

  it("an API server that cannot be reached is KUBERNETES_UNREACHABLE naming the request", async () => {
    // A port that was just free: nothing listens there any more.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const gone = new KubeClient({ server: `https://127.0.0.1:${port}`, timeoutMs: 2_000 });
    const err = await failure(gone.nodes());
    expect(err.code).toBe("KUBERNETES_UNREACHABLE");
    expect(err.message).toMatch(/^GET \/api\/v1\/nodes: /);
  });

  it("an HTTP error is a KubeApiError, itself a KubernetesError", async () => {
    const err = await failure(client.node("no-such-node"));
    expect(err).toMatchObject({ name: "KubeApiError", code: "KUBE_API_ERROR", status: 404 });
  });
});
