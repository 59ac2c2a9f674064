// A small Kubernetes API simulator over HTTPS with client-certificate auth:
// just what node upgrades use (version, nodes with their Ready condition and
// kubelet version, pods on a node, cordon via a strategic-merge patch,
// evictions with disruption-budget refusals). It knows nothing of the Talos
// cluster simulator: a test connects the two with the `isReady` hook (say,
// NotReady while the Talos node of that name is down).
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { minorLine } from "@taloskit/core";
import { stringify } from "yaml";
import { createTalosPki, nodeKeyPem } from "../cluster/pki.js";

/** A pod in the simulated cluster. */
export interface KubeSimPod {
  namespace: string;
  name: string;
  nodeName: string;
  /** Kind of the owner: "DaemonSet" pods are left by drain. */
  ownerKind?: string;
  /** A static pod's mirror (annotation kubernetes.io/config.mirror). */
  mirror?: boolean;
  phase?: string;
  /** Evictions refused with 429 (a disruption budget) before one succeeds. */
  refuseEvictions?: number;
}

/** Options of startKubernetesSimulator(). */
export interface KubernetesSimOptions {
  nodes: string[];
  pods?: KubeSimPod[];
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
}

/** A simulated Node. */
export interface KubeSimNode {
  unschedulable: boolean;
  /** Set false to make the node NotReady regardless of `isReady` (a broken kubelet). */
  ready: boolean;
  /** status.nodeInfo.kubeletVersion. */
  kubeletVersion: string;
}

/** A running Kubernetes API simulator. */
export interface KubernetesSimulator {
  /** https://127.0.0.1:<port> */
  readonly url: string;
  version: string;
  /** The nodes by name: unschedulable, forced NotReady, kubelet version. */
  readonly nodes: Map<string, KubeSimNode>;
  /** Whether a node is Ready now (its `ready` and the `isReady` hook). */
  isReady(nodeName: string): boolean;
  readonly pods: KubeSimPod[];
  /** What was done, in order: "cordon <node>", "uncordon <node>", "evict <ns>/<pod>". */
  readonly log: string[];
  /** Requests received, as "METHOD /path". */
  readonly requests: string[];
  /** Make every eviction fail with HTTP 500 (null to clear). */
  failEvictions(message: string | null): void;
  /** A kubeconfig (client certificate, CA) for this API server. */
  kubeconfig(): string;
  close(): Promise<void>;
}

/** Starts the simulator on 127.0.0.1. */
export async function startKubernetesSimulator(
  options: KubernetesSimOptions,
): Promise<KubernetesSimulator> {
  const pki = await createTalosPki();
  const serverCert = pki.issueServer({ dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
  const admin = pki.issueClient({ roles: ["system:masters"], keyLabel: "PRIVATE KEY" });
  const state = { version: options.version ?? "v1.34.1" };
  const nodes = new Map<string, KubeSimNode>(
    options.nodes.map((n) => [
      n,
      {
        unschedulable: false,
        ready: true,
        kubeletVersion: options.kubeletVersion ?? state.version,
      },
    ]),
  );
  const pods = [...(options.pods ?? [])];
  const log: string[] = [];
  const requests: string[] = [];
  let evictionFailure: string | null = null;
  const isReady = (name: string) =>
    (nodes.get(name)?.ready ?? false) && (options.isReady?.(name) ?? true);

  const podJson = (p: KubeSimPod) => ({
    metadata: {
      namespace: p.namespace,
      name: p.name,
      annotations: p.mirror ? { "kubernetes.io/config.mirror": "mirror" } : {},
      ownerReferences: p.ownerKind ? [{ kind: p.ownerKind, name: `${p.name}-owner` }] : [],
    },
    spec: { nodeName: p.nodeName },
    status: { phase: p.phase ?? "Running" },
  });
  const nodeJson = (name: string) => {
    const ready = isReady(name);
    return {
      kind: "Node",
      apiVersion: "v1",
      metadata: { name },
      spec: nodes.get(name)?.unschedulable ? { unschedulable: true } : {},
      status: {
        conditions: [
          ready
            ? {
                type: "Ready",
                status: "True",
                reason: "KubeletReady",
                message: "kubelet is posting ready status",
              }
            : {
                type: "Ready",
                status: "Unknown",
                reason: "NodeStatusUnknown",
                message: "Kubelet stopped posting node status.",
              },
        ],
        nodeInfo: { kubeletVersion: nodes.get(name)?.kubeletVersion ?? state.version },
      },
    };
  };

  const server: Server = createServer(
    {
      key: nodeKeyPem(serverCert.keyPem),
      cert: serverCert.certPem,
      ca: pki.ca.certPem,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const url = new URL(req.url ?? "/", "https://localhost");
        const method = req.method ?? "GET";
        requests.push(`${method} ${url.pathname}`);
        const send = (status: number, body: unknown) => {
          const text = JSON.stringify(body);
          res.writeHead(status, { "content-type": "application/json" });
          res.end(text);
        };
        const status = (code: number, message: string) =>
          send(code, { kind: "Status", apiVersion: "v1", status: "Failure", message, code });
        let body: Record<string, unknown> = {};
        try {
          body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : {};
        } catch {
          return status(400, "invalid JSON body");
        }
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
          const items = [...nodes.keys()].map(nodeJson);
          return send(200, { kind: "NodeList", apiVersion: "v1", items });
        }
        let m = /^\/api\/v1\/nodes\/([^/]+)$/.exec(path);
        if (m) {
          const name = decodeURIComponent(m[1] as string);
          const node = nodes.get(name);
          if (!node) return status(404, `nodes "${name}" not found`);
          if (method === "GET") return send(200, nodeJson(name));
          if (method === "PATCH") {
            if (req.headers["content-type"] !== "application/strategic-merge-patch+json")
              return status(415, "unsupported patch type");
            const un = (body.spec as { unschedulable?: boolean | null } | undefined)?.unschedulable;
            node.unschedulable = un === true;
            log.push(`${node.unschedulable ? "cordon" : "uncordon"} ${name}`);
            return send(200, nodeJson(name));
          }
        }
        if (method === "GET" && path === "/api/v1/pods") {
          const selector = url.searchParams.get("fieldSelector") ?? "";
          const on = /^spec\.nodeName=(.+)$/.exec(selector)?.[1];
          const items = pods.filter((p) => on === undefined || p.nodeName === on).map(podJson);
          return send(200, { kind: "PodList", apiVersion: "v1", items });
        }
        m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/eviction$/.exec(path);
        if (m && method === "POST") {
          const ns = decodeURIComponent(m[1] as string);
          const name = decodeURIComponent(m[2] as string);
          const i = pods.findIndex((p) => p.namespace === ns && p.name === name);
          const pod = pods[i];
          if (!pod) return status(404, `pods "${name}" not found`);
          if (evictionFailure) return status(500, evictionFailure);
          if ((pod.refuseEvictions ?? 0) > 0) {
            pod.refuseEvictions = (pod.refuseEvictions ?? 0) - 1;
            return status(429, "Cannot evict pod as it would violate the pod's disruption budget.");
          }
          pods.splice(i, 1);
          log.push(`evict ${ns}/${name}`);
          return send(201, { kind: "Status", apiVersion: "v1", status: "Success", code: 201 });
        }
        return status(404, "the server could not find the requested resource");
      });
    },
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
