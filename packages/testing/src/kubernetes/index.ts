// A small Kubernetes API simulator over HTTPS with client-certificate auth:
// what node upgrades use. Nodes (Ready condition, addresses, roles, kubelet
// version, OS image, architecture), pods on a node, cordon via a
// strategic-merge patch, PodDisruptionBudgets (policy/v1) whose status is
// computed as the disruption controller does, the Eviction subresource that
// refuses what a budget does not allow, pod deletion, and a minimal
// ReplicaSet controller that recreates an evicted or deleted pod on another
// schedulable, Ready worker node. It knows nothing of the Talos cluster simulator:
// a test connects the two with the `isReady` hook (say, NotReady while the
// Talos node of that name is down).
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { minorLine } from "@taloskit/core";
import { stringify } from "yaml";
import { createTalosPki, nodeKeyPem } from "../cluster/pki.js";
import { evictionVerdict, type PdbPod, pdbStatus, selects } from "./disruption.js";
import {
  type KubeSimNode,
  type KubeSimNodeInit,
  type KubeSimPdb,
  type KubeSimPod,
  nodeJson,
  ownerOf,
  pdbJson,
  podJson,
} from "./objects.js";

export {
  BUDGET_REFUSAL,
  type EvictionVerdict,
  evictionVerdict,
  type IntOrPercent,
  type PdbPod,
  type PdbSpec,
  type PdbStatus,
  pdbStatus,
  scaledValue,
} from "./disruption.js";
export type { KubeSimNode, KubeSimNodeInit, KubeSimPdb, KubeSimPod } from "./objects.js";

/** Options of startKubernetesSimulator(). */
export interface KubernetesSimOptions {
  nodes: KubeSimNodeInit[];
  pods?: KubeSimPod[];
  budgets?: KubeSimPdb[];
  /** gitVersion served at /version (default v1.34.1). */
  version?: string;
  /** Kubelet version every node reports (default: `version`); per node in `nodes`. */
  kubeletVersion?: string;
  /**
   * Whether a node's kubelet is Ready now, asked each time the node is read
   * (default: always). A node is Ready when this says so and its `ready` in
   * `nodes` is true.
   */
  isReady?: (nodeName: string) => boolean;
  /**
   * When a pod the ReplicaSet controller created becomes Ready: "next-list"
   * (default) at the next list of pods, as a container that starts quickly;
   * "manual" never by itself (the test sets its `ready`).
   */
  replacementReady?: "next-list" | "manual";
}

/** A running Kubernetes API simulator. */
export interface KubernetesSimulator {
  /** https://127.0.0.1:<port> */
  readonly url: string;
  version: string;
  /** The nodes by name: unschedulable, forced NotReady, kubelet version, addresses, role. */
  readonly nodes: Map<string, KubeSimNode>;
  /** Whether a node is Ready now (its `ready` and the `isReady` hook). */
  isReady(nodeName: string): boolean;
  readonly pods: KubeSimPod[];
  readonly budgets: KubeSimPdb[];
  /**
   * Controller scales by "<namespace>/<kind>/<name>" (a ReplicaSet's, a
   * StatefulSet's replicas); without an entry, how many pods it has now.
   */
  readonly scales: Map<string, number>;
  /** A budget's status now, as the disruption controller computes it. */
  budgetStatus(namespace: string, name: string): ReturnType<typeof pdbStatus>;
  /**
   * What was done, in order: "cordon <node>", "uncordon <node>", "evict <ns>/<pod>",
   * "refuse <ns>/<pod> by <budget>", "delete <ns>/<pod> grace=<s>", "create <ns>/<pod> on <node>".
   */
  readonly log: string[];
  /** Requests received, as "METHOD /path". */
  readonly requests: string[];
  /** Make every eviction fail with HTTP 500 (null to clear). */
  failEvictions(message: string | null): void;
  /** A kubeconfig (client certificate, CA) for this API server. */
  kubeconfig(): string;
  close(): Promise<void>;
}

/** Controllers whose scale the disruption controller can read. */
const SCALED = new Set(["ReplicaSet", "StatefulSet", "ReplicationController"]);

function initNodes(options: KubernetesSimOptions, version: string): Map<string, KubeSimNode> {
  return new Map(
    options.nodes.map((n) => {
      const init = typeof n === "string" ? { name: n } : n;
      return [
        init.name,
        {
          unschedulable: false,
          ready: true,
          kubeletVersion: options.kubeletVersion ?? version,
          addresses: [{ type: "Hostname", address: init.name }],
          controlPlane: false,
          osImage: "Talos",
          architecture: "amd64",
          ...init,
        },
      ];
    }),
  );
}

/** Reads a request to its end; resolves with its URL, method and JSON body (undefined when invalid). */
function readRequest(req: IncomingMessage) {
  return new Promise<{ url: URL; method: string; body: Record<string, unknown> | undefined }>(
    (resolve) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        let body: Record<string, unknown> | undefined = {};
        try {
          if (chunks.length) body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        } catch {
          body = undefined;
        }
        resolve({
          url: new URL(req.url ?? "/", "https://localhost"),
          method: req.method ?? "GET",
          body,
        });
      });
    },
  );
}

/** Starts the simulator on 127.0.0.1. */
export async function startKubernetesSimulator(
  options: KubernetesSimOptions,
): Promise<KubernetesSimulator> {
  const pki = await createTalosPki();
  const serverCert = pki.issueServer({ dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
  const admin = pki.issueClient({ roles: ["system:masters"], keyLabel: "PRIVATE KEY" });
  const state = { version: options.version ?? "v1.34.1" };
  const nodes = initNodes(options, state.version);
  const pods = [...(options.pods ?? [])];
  const budgets = [...(options.budgets ?? [])];
  const log: string[] = [];
  const requests: string[] = [];
  let evictionFailure: string | null = null;
  const isReady = (name: string) =>
    (nodes.get(name)?.ready ?? false) && (options.isReady?.(name) ?? true);

  // A controller's scale: set in `scales`, else how many pods it has now (the
  // ReplicaSet controller below keeps that number as pods are evicted).
  const key = (p: KubeSimPod) => `${p.namespace}/${p.ownerKind}/${ownerOf(p)}`;
  const scales = new Map<string, number>();
  const scaleOf = (controller: string) => {
    if (!SCALED.has(controller.split("/")[1] ?? "")) return undefined;
    return (
      scales.get(controller) ?? pods.filter((p) => p.ownerKind && key(p) === controller).length
    );
  };
  // Pods the controller created and that have not started yet.
  const starting = new Set<KubeSimPod>();

  /** A pod is Ready when it says so, runs, and its node is Ready (the node controller's view). */
  const podReady = (p: KubeSimPod) =>
    (p.ready ?? true) &&
    (p.phase ?? "Running") === "Running" &&
    !!p.nodeName &&
    isReady(p.nodeName);
  const asPdbPod = (p: KubeSimPod): PdbPod => ({
    labels: p.labels ?? {},
    ready: podReady(p),
    phase: p.phase ?? "Running",
    controller: p.ownerKind ? key(p) : undefined,
  });
  const statusOf = (b: KubeSimPdb) =>
    pdbStatus(
      b,
      pods.filter((p) => p.namespace === b.namespace && selects(b, p.labels ?? {})).map(asPdbPod),
      scaleOf,
    );

  /**
   * A node for a new pod, other than `avoid`: schedulable, Ready, not a control
   * plane (their NoSchedule taint, which workloads do not tolerate), the one
   * with fewest pods; "" when none fits (the pod stays Pending).
   */
  const placeFor = (avoid: string): string => {
    const count = (n: string) => pods.filter((p) => p.nodeName === n).length;
    const fit = [...nodes.entries()]
      .filter(([n, node]) => n !== avoid && !node.unschedulable && !node.controlPlane && isReady(n))
      .map(([n]) => n)
      .sort((a, b) => count(a) - count(b));
    return fit[0] ?? "";
  };

  /** Removes a pod; a ReplicaSet's pod is recreated elsewhere, not Ready yet. */
  const remove = (i: number) => {
    const [gone] = pods.splice(i, 1);
    if (gone?.ownerKind !== "ReplicaSet") return;
    const nodeName = placeFor(gone.nodeName);
    const pod: KubeSimPod = {
      ...gone,
      name: `${ownerOf(gone)}-${randomBytes(3).toString("hex").slice(0, 5)}`,
      nodeName,
      phase: nodeName ? "Running" : "Pending",
      ready: false,
    };
    pods.push(pod);
    starting.add(pod);
    log.push(`create ${pod.namespace}/${pod.name} on ${nodeName || "(pending)"}`);
  };

  /** The controllers' turn at each list: schedule pending pods, start the new ones. */
  const reconcile = () => {
    for (const p of starting) {
      if (!p.nodeName) {
        p.nodeName = placeFor("");
        if (p.nodeName) p.phase = "Running";
      } else if (options.replacementReady !== "manual") {
        p.ready = true;
        starting.delete(p);
      }
    }
  };

  type Send = (status: number, body: unknown) => void;
  const failure = (send: Send, code: number, message: string, extra: object = {}) =>
    send(code, { kind: "Status", apiVersion: "v1", status: "Failure", message, code, ...extra });

  const evict = (send: Send, ns: string, name: string) => {
    const i = pods.findIndex((p) => p.namespace === ns && p.name === name);
    const pod = pods[i];
    if (!pod) return failure(send, 404, `pods "${name}" not found`, { reason: "NotFound" });
    if (evictionFailure) return failure(send, 500, evictionFailure);
    const mine = budgets
      .filter((b) => b.namespace === ns && selects(b, pod.labels ?? {}))
      .map((b) => ({ name: b.name, spec: b, status: statusOf(b) }));
    const verdict = evictionVerdict(asPdbPod(pod), mine);
    if (!verdict.allow) {
      if (verdict.code === 500) return failure(send, 500, verdict.message);
      log.push(`refuse ${ns}/${name} by ${mine[0]?.name}`);
      return failure(send, 429, verdict.message, {
        reason: "TooManyRequests",
        details: { causes: [{ reason: "DisruptionBudget", message: verdict.cause }] },
      });
    }
    log.push(`evict ${ns}/${name}`);
    remove(i);
    return send(201, { kind: "Status", apiVersion: "v1", status: "Success", code: 201 });
  };

  const deletePod = (
    send: Send,
    url: URL,
    body: Record<string, unknown>,
    ns: string,
    name: string,
  ) => {
    const i = pods.findIndex((p) => p.namespace === ns && p.name === name);
    const pod = pods[i];
    if (!pod) return failure(send, 404, `pods "${name}" not found`, { reason: "NotFound" });
    const grace = body.gracePeriodSeconds ?? url.searchParams.get("gracePeriodSeconds");
    log.push(`delete ${ns}/${name} grace=${grace ?? "default"}`);
    const json = podJson(pod, podReady(pod));
    remove(i);
    return send(200, json);
  };

  const route = (
    send: Send,
    url: URL,
    method: string,
    body: Record<string, unknown>,
    req: IncomingMessage,
  ) => {
    const path = url.pathname;
    if (method === "GET" && path === "/version") {
      const line = minorLine(state.version);
      return send(200, {
        major: line && String(line.major),
        minor: line && String(line.minor),
        gitVersion: state.version,
      });
    }
    if (method === "GET" && path === "/api/v1/nodes") {
      const items = [...nodes].map(([n, node]) => nodeJson(n, node, isReady(n)));
      return send(200, { kind: "NodeList", apiVersion: "v1", items });
    }
    let m = /^\/api\/v1\/nodes\/([^/]+)$/.exec(path);
    if (m) {
      const name = decodeURIComponent(m[1] as string);
      const node = nodes.get(name);
      if (!node) return failure(send, 404, `nodes "${name}" not found`, { reason: "NotFound" });
      if (method === "GET") return send(200, nodeJson(name, node, isReady(name)));
      if (method === "PATCH") {
        if (req.headers["content-type"] !== "application/strategic-merge-patch+json")
          return failure(send, 415, "unsupported patch type");
        const un = (body.spec as { unschedulable?: boolean | null } | undefined)?.unschedulable;
        node.unschedulable = un === true;
        log.push(`${node.unschedulable ? "cordon" : "uncordon"} ${name}`);
        return send(200, nodeJson(name, node, isReady(name)));
      }
    }
    if (method === "GET" && path === "/api/v1/pods") {
      reconcile();
      const selector = url.searchParams.get("fieldSelector") ?? "";
      const on = /^spec\.nodeName=(.+)$/.exec(selector)?.[1];
      const items = pods
        .filter((p) => on === undefined || p.nodeName === on)
        .map((p) => podJson(p, podReady(p)));
      return send(200, { kind: "PodList", apiVersion: "v1", items });
    }
    m = /^\/apis\/policy\/v1(?:\/namespaces\/([^/]+))?\/poddisruptionbudgets$/.exec(path);
    if (m && method === "GET") {
      const ns = m[1] && decodeURIComponent(m[1]);
      const items = budgets
        .filter((b) => !ns || b.namespace === ns)
        .map((b) => pdbJson(b, statusOf(b)));
      return send(200, { kind: "PodDisruptionBudgetList", apiVersion: "policy/v1", items });
    }
    m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)(\/eviction)?$/.exec(path);
    if (m) {
      const ns = decodeURIComponent(m[1] as string);
      const name = decodeURIComponent(m[2] as string);
      if (m[3] && method === "POST") return evict(send, ns, name);
      if (!m[3] && method === "DELETE") return deletePod(send, url, body, ns, name);
    }
    return failure(send, 404, "the server could not find the requested resource", {
      reason: "NotFound",
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const { url, method, body } = await readRequest(req);
    requests.push(`${method} ${url.pathname}`);
    const send: Send = (status, answer) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(answer));
    };
    if (!body) return failure(send, 400, "invalid JSON body", { reason: "BadRequest" });
    route(send, url, method, body, req);
  };

  const server: Server = createServer(
    {
      key: nodeKeyPem(serverCert.keyPem),
      cert: serverCert.certPem,
      ca: pki.ca.certPem,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => void handle(req, res),
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `https://127.0.0.1:${port}`;
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  return {
    url,
    get version() {
      return state.version;
    },
    set version(v: string) {
      state.version = v;
    },
    nodes,
    isReady,
    pods,
    budgets,
    scales,
    budgetStatus(namespace, name) {
      const b = budgets.find((x) => x.namespace === namespace && x.name === name);
      if (!b) throw new Error(`no budget ${namespace}/${name}`);
      return statusOf(b);
    },
    log,
    requests,
    failEvictions(message) {
      evictionFailure = message;
    },
    kubeconfig() {
      return stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          {
            name: "sim",
            cluster: { server: url, "certificate-authority-data": b64(pki.ca.certPem) },
          },
        ],
        users: [
          {
            name: "admin@sim",
            user: {
              "client-certificate-data": b64(admin.certPem),
              "client-key-data": b64(admin.keyPem),
            },
          },
        ],
        contexts: [{ name: "admin@sim", context: { cluster: "sim", user: "admin@sim" } }],
        "current-context": "admin@sim",
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
