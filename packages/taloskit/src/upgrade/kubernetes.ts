// A minimal Kubernetes API client for upgrades: the cluster version, cordon,
// drain (evictions through the Eviction API, skipping DaemonSet and mirror
// pods), uncordon, and Node readiness (the Ready condition and the kubelet
// version, polled until a node is Ready again after its reboot). It speaks HTTPS with node:https and authenticates with
// the kubeconfig's client certificate (or bearer token).
import { request as httpsRequest } from "node:https";
import { setTimeout as sleep } from "node:timers/promises";
import { TalosError } from "@taloskit/client";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { UpgradeError } from "./errors.js";

const NamedCluster = z.object({
  name: z.string(),
  cluster: z.object({
    server: z.string().url(),
    "certificate-authority-data": z.string().optional(),
    "tls-server-name": z.string().optional(),
    "insecure-skip-tls-verify": z.boolean().optional(),
  }),
});
const NamedUser = z.object({
  name: z.string(),
  user: z
    .object({
      "client-certificate-data": z.string().optional(),
      "client-key-data": z.string().optional(),
      token: z.string().optional(),
    })
    .nullable()
    .optional(),
});
const NamedContext = z.object({
  name: z.string(),
  context: z.object({ cluster: z.string(), user: z.string() }),
});
const Kubeconfig = z.object({
  clusters: z.array(NamedCluster).min(1),
  users: z.array(NamedUser).default([]),
  contexts: z.array(NamedContext).min(1),
  "current-context": z.string().optional(),
});

/** Connection settings of KubeClient. */
export interface KubeClientOptions {
  /** API server URL, e.g. https://10.5.0.2:6443. */
  server: string;
  /** CA certificate(s), PEM. */
  ca?: string | undefined;
  /** Client certificate and key, PEM. */
  cert?: string | undefined;
  key?: string | undefined;
  token?: string | undefined;
  /** Verify the server certificate against this name. */
  serverName?: string | undefined;
  /** Per request (default 30 s). */
  timeoutMs?: number;
}

/** A pod as drain sees it. */
export interface KubePod {
  namespace: string;
  name: string;
  /** Owned by a DaemonSet (drain leaves it). */
  daemonSet: boolean;
  /** A static pod's mirror (drain leaves it). */
  mirror: boolean;
  phase: string;
}

/** A Node as upgrades see it: its Ready condition and kubelet version. */
export interface KubeNode {
  name: string;
  /** The Ready condition is "True". */
  ready: boolean;
  /** Why not: the Ready condition's reason and message (or "no Ready condition"); "" when ready. */
  reason: string;
  /** status.nodeInfo.kubeletVersion, e.g. "v1.34.1", when reported. */
  kubeletVersion: string | undefined;
  unschedulable: boolean;
}

/** Options of waitForNodeReady(). */
export interface NodeReadyOptions extends KubeCallOptions {
  /** How long to wait for Ready (default 5 min). */
  readyTimeoutMs?: number;
  /** Delay between checks (default 2 s). */
  intervalMs?: number;
  /** The kubelet version the node must report, e.g. "v1.34.1" (a leading "v" is optional). */
  kubeletVersion?: string | undefined;
  /** Called with the first state seen and every change (readiness, reason, kubelet version, or an API error). */
  onChange?: (node: KubeNode | undefined, error: unknown) => void;
}

/** Why a node does not pass waitForNodeReady(), or undefined when it does. */
export function nodeNotReady(
  node: KubeNode,
  kubeletVersion: string | undefined,
): string | undefined {
  if (!node.ready) return `not Ready (${node.reason})`;
  const want = kubeletVersion?.replace(/^v/, "");
  if (want && node.kubeletVersion?.replace(/^v/, "") !== want) {
    return `Ready, but its kubelet reports ${node.kubeletVersion ?? "no version"}, not v${want}`;
  }
  return undefined;
}

/** Reads a Node object as returned by the API. */
function kubeNodeOf(name: string, body: unknown): KubeNode {
  const n = (body ?? {}) as {
    metadata?: { name?: string };
    spec?: { unschedulable?: boolean };
    status?: {
      conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
      nodeInfo?: { kubeletVersion?: string };
    };
  };
  const cond = (n.status?.conditions ?? []).find((c) => c.type === "Ready");
  const ready = cond?.status === "True";
  const why = cond
    ? [cond.reason || `Ready=${cond.status ?? "Unknown"}`, cond.message].filter(Boolean).join(": ")
    : "no Ready condition";
  return {
    name: n.metadata?.name ?? name,
    ready,
    reason: ready ? "" : why,
    kubeletVersion: n.status?.nodeInfo?.kubeletVersion || undefined,
    unschedulable: n.spec?.unschedulable === true,
  };
}

export interface KubeCallOptions {
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}

/** Options of drain(). */
export interface DrainOptions extends KubeCallOptions {
  /** Whole drain, evictions and waiting for pods to go (default 5 min). */
  drainTimeoutMs?: number;
  /** Delay between retries of an eviction refused by a disruption budget, and between checks (default 1 s). */
  intervalMs?: number;
  /** Called for each pod evicted. */
  onEvict?: (pod: KubePod) => void;
}

function b64(text: string | undefined): string | undefined {
  return text ? Buffer.from(text, "base64").toString("utf8") : undefined;
}

/** An HTTP failure of the Kubernetes API (`status` is the HTTP status). A {@link TalosError}. */
export class KubeApiError extends TalosError {
  override readonly name = "KubeApiError";
  /** Stable, machine-readable code. */
  declare readonly code: "KUBE_API_ERROR";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super("KUBE_API_ERROR", message);
  }
}

/** Talks to one Kubernetes API server. */
export class KubeClient {
  readonly server: URL;
  private readonly options: KubeClientOptions;

  constructor(options: KubeClientOptions) {
    this.server = new URL(options.server);
    if (this.server.protocol !== "https:") {
      throw new UpgradeError(
        "UPGRADE_INVALID_ARGUMENT",
        `Kubernetes server ${options.server} is not an https URL`,
      );
    }
    this.options = options;
  }

  /** Reads a kubeconfig (YAML text): its current or named context. */
  static fromKubeconfig(text: string, options: { context?: string; timeoutMs?: number } = {}) {
    let raw: unknown;
    try {
      raw = parseYaml(text);
    } catch (error) {
      throw new UpgradeError("UPGRADE_INVALID_ARGUMENT", "the kubeconfig is not valid YAML", {
        cause: error,
      });
    }
    const parsed = Kubeconfig.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UpgradeError(
        "UPGRADE_INVALID_ARGUMENT",
        `invalid kubeconfig: ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`,
      );
    }
    const cfg = parsed.data;
    const name = options.context ?? cfg["current-context"] ?? cfg.contexts[0]?.name;
    const ctx = cfg.contexts.find((c) => c.name === name);
    if (!ctx) {
      throw new UpgradeError("UPGRADE_INVALID_ARGUMENT", `kubeconfig context "${name}" not found`);
    }
    const cluster = cfg.clusters.find((c) => c.name === ctx.context.cluster);
    if (!cluster) {
      throw new UpgradeError(
        "UPGRADE_INVALID_ARGUMENT",
        `kubeconfig cluster "${ctx.context.cluster}" (of context "${name}") not found`,
      );
    }
    const user = cfg.users.find((u) => u.name === ctx.context.user)?.user ?? {};
    return new KubeClient({
      server: cluster.cluster.server,
      ca: b64(cluster.cluster["certificate-authority-data"]),
      serverName: cluster.cluster["tls-server-name"],
      cert: b64(user["client-certificate-data"]),
      key: b64(user["client-key-data"]),
      token: user.token,
      timeoutMs: options.timeoutMs,
    });
  }

  /** One API request; JSON in and out. Throws KubeApiError for HTTP errors. */
  request(
    method: string,
    path: string,
    body?: unknown,
    options: KubeCallOptions & { contentType?: string } = {},
  ): Promise<{ status: number; body: unknown }> {
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs ?? 30_000;
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          protocol: "https:",
          hostname: this.server.hostname,
          port: this.server.port || 443,
          path: `${this.server.pathname.replace(/\/+$/, "")}${path}`,
          method,
          ca: this.options.ca,
          cert: this.options.cert,
          key: this.options.key,
          servername: this.options.serverName,
          headers: {
            accept: "application/json",
            ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
            ...(data
              ? {
                  "content-type": options.contentType ?? "application/json",
                  "content-length": data.length,
                }
              : {}),
          },
          signal: options.signal,
          timeout: timeoutMs,
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              // plain-text error bodies stay text
            }
            const status = res.statusCode ?? 0;
            if (status >= 400) {
              const msg =
                (parsed as { message?: string } | undefined)?.message ?? text.slice(0, 200);
              reject(new KubeApiError(status, `${method} ${path}: HTTP ${status}: ${msg}`));
            } else {
              resolve({ status, body: parsed });
            }
          });
        },
      );
      req.on("timeout", () =>
        req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)),
      );
      req.on("error", reject);
      req.end(data);
    });
  }

  /** The server's Kubernetes version, e.g. "v1.34.1". */
  async version(options: KubeCallOptions = {}): Promise<string> {
    const r = await this.request("GET", "/version", undefined, options);
    return String((r.body as { gitVersion?: string } | undefined)?.gitVersion ?? "");
  }

  private async setUnschedulable(
    node: string,
    on: boolean,
    options: KubeCallOptions,
  ): Promise<KubeNode> {
    const r = await this.request(
      "PATCH",
      `/api/v1/nodes/${encodeURIComponent(node)}`,
      { spec: { unschedulable: on ? true : null } },
      { ...options, contentType: "application/strategic-merge-patch+json" },
    );
    return kubeNodeOf(node, r.body);
  }

  /** Marks a node unschedulable; resolves with the node as the API returned it. */
  cordon(node: string, options: KubeCallOptions = {}): Promise<KubeNode> {
    return this.setUnschedulable(node, true, options);
  }

  /** Marks a node schedulable again; resolves with the node as the API returned it. */
  uncordon(node: string, options: KubeCallOptions = {}): Promise<KubeNode> {
    return this.setUnschedulable(node, false, options);
  }

  /** One Node: its Ready condition and kubelet version. */
  async node(name: string, options: KubeCallOptions = {}): Promise<KubeNode> {
    const r = await this.request(
      "GET",
      `/api/v1/nodes/${encodeURIComponent(name)}`,
      undefined,
      options,
    );
    return kubeNodeOf(name, r.body);
  }

  /** Every Node of the cluster. */
  async nodes(options: KubeCallOptions = {}): Promise<KubeNode[]> {
    const r = await this.request("GET", "/api/v1/nodes", undefined, options);
    const items = (r.body as { items?: unknown[] } | undefined)?.items ?? [];
    return items.map((n) => kubeNodeOf("", n));
  }

  /**
   * Polls a Node until its Ready condition is "True" and, when given, it
   * reports the kubelet version. API errors count as "not yet" (the API
   * server may itself be coming back); after `readyTimeoutMs` it throws an
   * Error naming the last state seen. Resolves with the Ready node.
   */
  async waitForNodeReady(name: string, options: NodeReadyOptions = {}): Promise<KubeNode> {
    const limitMs = options.readyTimeoutMs ?? 300_000;
    const total = AbortSignal.timeout(limitMs);
    const signal = options.signal ? AbortSignal.any([options.signal, total]) : total;
    const interval = options.intervalMs ?? 2_000;
    let last = "not read yet";
    let seen: string | undefined;
    for (;;) {
      let node: KubeNode | undefined;
      let error: unknown;
      try {
        node = await this.node(name, { signal, timeoutMs: options.timeoutMs });
      } catch (e) {
        error = e;
      }
      if (options.signal?.aborted) throw options.signal.reason;
      // A request cut by the deadline says nothing about the node: keep the last state.
      if (node || !total.aborted) {
        const problem = node
          ? nodeNotReady(node, options.kubeletVersion)
          : `unreadable (${error instanceof Error ? error.message : String(error)})`;
        if (node && !problem) {
          options.onChange?.(node, undefined);
          return node;
        }
        const key = node
          ? `${node.ready}|${node.reason}|${node.kubeletVersion}`
          : `error|${problem}`;
        if (key !== seen) {
          seen = key;
          options.onChange?.(node, error);
        }
        last = problem ?? last;
      }
      await sleep(interval, undefined, { signal }).catch(() => undefined);
      if (options.signal?.aborted) throw options.signal.reason;
      if (total.aborted) {
        throw new Error(`Kubernetes node ${name} is not Ready within ${limitMs} ms: it is ${last}`);
      }
    }
  }

  /** The pods scheduled on a node. */
  async podsOn(node: string, options: KubeCallOptions = {}): Promise<KubePod[]> {
    const selector = encodeURIComponent(`spec.nodeName=${node}`);
    const r = await this.request(
      "GET",
      `/api/v1/pods?fieldSelector=${selector}`,
      undefined,
      options,
    );
    const items = ((r.body as { items?: unknown[] } | undefined)?.items ?? []) as {
      metadata?: {
        name?: string;
        namespace?: string;
        annotations?: Record<string, string>;
        ownerReferences?: { kind?: string }[];
      };
      status?: { phase?: string };
    }[];
    return items.map((p) => ({
      namespace: p.metadata?.namespace ?? "default",
      name: p.metadata?.name ?? "",
      daemonSet: (p.metadata?.ownerReferences ?? []).some((o) => o.kind === "DaemonSet"),
      mirror: Boolean(p.metadata?.annotations?.["kubernetes.io/config.mirror"]),
      phase: p.status?.phase ?? "",
    }));
  }

  /** Evicts one pod; false when a disruption budget refuses it for now (HTTP 429). */
  async evict(pod: { namespace: string; name: string }, options: KubeCallOptions = {}) {
    try {
      await this.request(
        "POST",
        `/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/pods/${encodeURIComponent(pod.name)}/eviction`,
        {
          apiVersion: "policy/v1",
          kind: "Eviction",
          metadata: { name: pod.name, namespace: pod.namespace },
        },
        options,
      );
      return true;
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 429) return false;
      if (error instanceof KubeApiError && error.status === 404) return true;
      throw error;
    }
  }

  /**
   * Evicts every pod on a node except DaemonSet pods, mirror pods and pods
   * that have finished, retrying evictions a disruption budget refuses, and
   * waits until they are gone.
   */
  async drain(node: string, options: DrainOptions = {}): Promise<KubePod[]> {
    const total = AbortSignal.timeout(options.drainTimeoutMs ?? 300_000);
    const signal = options.signal ? AbortSignal.any([options.signal, total]) : total;
    const interval = options.intervalMs ?? 1_000;
    const call = { signal, timeoutMs: options.timeoutMs };
    const movable = (p: KubePod) =>
      !p.daemonSet && !p.mirror && p.phase !== "Succeeded" && p.phase !== "Failed";
    const evicted: KubePod[] = [];
    try {
      let pending = (await this.podsOn(node, call)).filter(movable);
      while (pending.length) {
        const refused: KubePod[] = [];
        for (const pod of pending) {
          if (await this.evict(pod, call)) {
            evicted.push(pod);
            options.onEvict?.(pod);
          } else refused.push(pod);
        }
        if (refused.length) await sleep(interval, undefined, { signal });
        pending = refused;
      }
      // Wait until the evicted pods are gone from the node.
      for (;;) {
        const left = (await this.podsOn(node, call)).filter(movable);
        if (!left.length) return evicted;
        await sleep(interval, undefined, { signal });
      }
    } catch (error) {
      if (total.aborted && !options.signal?.aborted) {
        throw new Error(
          `draining ${node} did not finish within ${options.drainTimeoutMs ?? 300_000} ms`,
          { cause: error },
        );
      }
      throw error;
    }
  }
}
