// The Kubernetes client against the simulated API server over real TLS: its
// waits and drain give up with typed errors that name what they waited for,
// and transport failures are KubernetesErrors too.
import { type AddressInfo, createServer } from "node:net";
import { TalosError } from "@taloskit/core";
import { type KubernetesSimulator, startKubernetesSimulator } from "@taloskit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeClient, type KubeNode, KubernetesError } from "../../src/kubernetes/index.js";

let kube: KubernetesSimulator;
let client: KubeClient;

beforeAll(async () => {
  kube = await startKubernetesSimulator({
    nodes: ["node-1", "node-2"],
    pods: [
      // A disruption budget that refuses every eviction of this pod.
      { namespace: "default", name: "stuck", nodeName: "node-2", refuseEvictions: 1e9 },
      { namespace: "default", name: "app", nodeName: "node-1", refuseEvictions: 2 },
    ],
  });
  client = KubeClient.fromKubeconfig(kube.kubeconfig());
});
afterAll(async () => {
  await kube?.close();
});

async function failure(p: Promise<unknown>): Promise<KubernetesError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KubernetesError);
  expect(error).toBeInstanceOf(TalosError);
  return error as KubernetesError;
}

describe("KubeClient", () => {
  it("drains a node, retrying evictions a disruption budget refuses", async () => {
    const evicted = await client.drain("node-1", { intervalMs: 5, drainTimeoutMs: 5_000 });
    expect(evicted.map((p) => p.name)).toEqual(["app"]);
    expect(kube.pods.some((p) => p.name === "app")).toBe(false);
  });

  it("a drain that cannot finish is KUBERNETES_DRAIN_TIMEOUT naming the node", async () => {
    const err = await failure(client.drain("node-2", { intervalMs: 5, drainTimeoutMs: 200 }));
    expect(err.code).toBe("KUBERNETES_DRAIN_TIMEOUT");
    expect(err.message).toBe("draining node-2 did not finish within 200 ms");
    expect(kube.pods.some((p) => p.name === "stuck")).toBe(true);
  });

  it("a Node that stays NotReady is KUBERNETES_NODE_NOT_READY with the last state seen", async () => {
    (kube.nodes.get("node-2") as { ready: boolean }).ready = false;
    const seen: (KubeNode | undefined)[] = [];
    try {
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
    } finally {
      (kube.nodes.get("node-2") as { ready: boolean }).ready = true;
    }
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
