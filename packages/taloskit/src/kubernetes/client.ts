// A minimal Kubernetes API client for upgrades: the cluster version, cordon,
// drain (evictions through the Eviction API, skipping DaemonSet and mirror
// pods), uncordon, and Node readiness (the Ready condition and the kubelet
// version, polled until a node is Ready again after its reboot). Waits poll
// with the shared policy of @taloskit/core; every failure is a KubernetesError.
import { messageOf, pollUntil } from "@taloskit/core";
import {
  type KubeCallOptions,
  type KubeClientOptions,
  kubeRequest,
  serverUrl,
} from "./connection.js";
import { KubeApiError, KubernetesError } from "./errors.js";
import { kubeconfigOptions } from "./kubeconfig.js";
import {
  itemsOf,
  type KubeNode,
  type KubePod,
  kubeNodeOf,
  kubePodOf,
  movable,
  nodeNotReady,
} from "./nodes.js";

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

/** Options of drain(). */
export interface DrainOptions extends KubeCallOptions {
  /** Whole drain, evictions and waiting for pods to go (default 5 min). */
  drainTimeoutMs?: number;
  /** Delay between retries of an eviction refused by a disruption budget, and between checks (default 1 s). */
  intervalMs?: number;
  /** Called for each pod evicted. */
  onEvict?: (pod: KubePod) => void;
}

/** Talks to one Kubernetes API server. */
export class KubeClient {
  readonly server: URL;
  private readonly options: KubeClientOptions;

  constructor(options: KubeClientOptions) {
    this.server = serverUrl(options.server);
    this.options = options;
  }

  /** Reads a kubeconfig (YAML text): its current or named context. */
  static fromKubeconfig(text: string, options: { context?: string; timeoutMs?: number } = {}) {
    return new KubeClient(kubeconfigOptions(text, options));
  }

  /** One API request; JSON in and out. Throws KubeApiError for HTTP errors. */
  request(
    method: string,
    path: string,
    body?: unknown,
    options: KubeCallOptions & { contentType?: string } = {},
  ): Promise<{ status: number; body: unknown }> {
    return kubeRequest(this.server, this.options, method, path, body, options);
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
    return itemsOf(r.body).map((n) => kubeNodeOf("", n));
  }

  /**
   * Polls a Node until its Ready condition is "True" and, when given, it
   * reports the kubelet version. API errors count as "not yet" (the API
   * server may itself be coming back); after `readyTimeoutMs` it throws a
   * KUBERNETES_NODE_NOT_READY KubernetesError naming the last state seen.
   * Resolves with the Ready node.
   */
  waitForNodeReady(name: string, options: NodeReadyOptions = {}): Promise<KubeNode> {
    const limitMs = options.readyTimeoutMs ?? 300_000;
    let last = "not read yet";
    let seen: string | undefined;
    return pollUntil(
      async (signal) => {
        let node: KubeNode | undefined;
        let error: unknown;
        try {
          node = await this.node(name, { signal, timeoutMs: options.timeoutMs });
        } catch (e) {
          // A request cut by the deadline says nothing about the node: keep the last state.
          if (signal.aborted) throw e;
          error = e;
        }
        const problem = node
          ? nodeNotReady(node, options.kubeletVersion)
          : `unreadable (${messageOf(error)})`;
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
        return undefined;
      },
      {
        intervalMs: options.intervalMs ?? 2_000,
        timeoutMs: limitMs,
        signal: options.signal,
        timedOut: () =>
          new KubernetesError(
            "KUBERNETES_NODE_NOT_READY",
            `Kubernetes node ${name} is not Ready within ${limitMs} ms: it is ${last}`,
          ),
      },
    );
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
    return itemsOf(r.body).map(kubePodOf);
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
   * waits until they are gone. After `drainTimeoutMs` it throws a
   * KUBERNETES_DRAIN_TIMEOUT KubernetesError.
   */
  async drain(node: string, options: DrainOptions = {}): Promise<KubePod[]> {
    const limitMs = options.drainTimeoutMs ?? 300_000;
    const deadline = Date.now() + limitMs;
    const poll = () => ({
      intervalMs: options.intervalMs ?? 1_000,
      timeoutMs: Math.max(0, deadline - Date.now()),
      signal: options.signal,
      timedOut: () =>
        new KubernetesError(
          "KUBERNETES_DRAIN_TIMEOUT",
          `draining ${node} did not finish within ${limitMs} ms`,
        ),
    });
    const evicted: KubePod[] = [];
    // Evictions: each round tries the pods a disruption budget refused in the last one.
    let pending: KubePod[] | undefined;
    await pollUntil(async (signal) => {
      const call = { signal, timeoutMs: options.timeoutMs };
      pending ??= (await this.podsOn(node, call)).filter(movable);
      const refused: KubePod[] = [];
      for (const pod of pending) {
        if (await this.evict(pod, call)) {
          evicted.push(pod);
          options.onEvict?.(pod);
        } else refused.push(pod);
      }
      pending = refused;
      return refused.length ? undefined : true;
    }, poll());
    // Then wait until the evicted pods are gone from the node.
    await pollUntil(async (signal) => {
      const left = (await this.podsOn(node, { signal, timeoutMs: options.timeoutMs })).filter(
        movable,
      );
      return left.length ? undefined : true;
    }, poll());
    return evicted;
  }
}
