// A minimal Kubernetes API client for upgrades: the cluster version, the
// Nodes (readiness and what cluster discovery needs), cordon, drain
// (evictions through the Eviction API, skipping DaemonSet and mirror pods,
// retried while disruption budgets refuse them, with an explicit force
// fallback), disruption budgets, uncordon, and Node readiness (polled until a
// node is Ready again after its reboot). Waits poll with the shared policy of
// @taloskit/core; every failure is a KubernetesError.
import { messageOf, pollUntil, sleep } from "@taloskit/core";
import { type KubeDisruptionBudget, kubeBudgetOf, refusingBudgets } from "./budgets.js";
import {
  type KubeCallOptions,
  type KubeClientOptions,
  kubeRequest,
  serverUrl,
} from "./connection.js";
import { type BlockedPod, DrainTimeoutError, KubeApiError, KubernetesError } from "./errors.js";
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
  /** The whole drain: evictions, their retries and waiting for the pods to go (default 5 min). */
  drainTimeoutMs?: number;
  /**
   * First delay before retrying evictions a disruption budget refused (HTTP
   * 429), doubled after each refused round up to `maxIntervalMs`; also the
   * delay between checks that evicted pods are gone (default 1 s).
   */
  intervalMs?: number;
  /** Longest delay between two rounds of retries (default 10 s). */
  maxIntervalMs?: number;
  /**
   * An explicit fallback, off unless set: pods a disruption budget still
   * refuses this long after the drain started are deleted directly (DELETE
   * with their own termination grace period), each reported to `onForce`.
   * Must be shorter than `drainTimeoutMs`.
   */
  forceAfterMs?: number | undefined;
  /** Called for each pod evicted. */
  onEvict?: (pod: KubePod) => void;
  /** Called the first time a disruption budget refuses a pod. */
  onRefused?: (pod: KubePod, refusal: BlockedPod) => void;
  /** Called for each pod deleted by the `forceAfterMs` fallback, with the last refusal. */
  onForce?: (pod: KubePod, refusal: BlockedPod) => void;
}

/** What a drain did: pods evicted, and pods deleted by the `forceAfterMs` fallback. */
export interface DrainResult {
  evicted: KubePod[];
  forced: KubePod[];
}

const podKey = (p: { namespace: string; name: string }) => `${p.namespace}/${p.name}`;

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

  /**
   * Every Node of the cluster: readiness, kubelet version, InternalIP and
   * ExternalIP addresses, hostname, control-plane role, OS image (e.g.
   * "Talos (v1.13.3)") and architecture; what whole-cluster discovery needs.
   */
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

  /** Every PodDisruptionBudget of the cluster (policy/v1), with its status. */
  async disruptionBudgets(options: KubeCallOptions = {}): Promise<KubeDisruptionBudget[]> {
    const r = await this.request("GET", "/apis/policy/v1/poddisruptionbudgets", undefined, options);
    return itemsOf(r.body).map(kubeBudgetOf);
  }

  /**
   * Evicts one pod through the Eviction API. Resolves with undefined when it
   * was evicted (or is gone already), or with the refusal when a disruption
   * budget does not allow it now (HTTP 429). Other failures throw.
   */
  async evict(
    pod: { namespace: string; name: string },
    options: KubeCallOptions = {},
  ): Promise<BlockedPod | undefined> {
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
      return undefined;
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      if (!(error instanceof KubeApiError && error.status === 429)) throw error;
      const causes =
        (error.body as { details?: { causes?: { message?: string }[] } } | undefined)?.details
          ?.causes ?? [];
      return {
        pod: podKey(pod),
        budgets: refusingBudgets(error.body),
        reason: causes.map((c) => c.message).join("; ") || error.message,
      };
    }
  }

  /**
   * Deletes one pod directly, bypassing disruption budgets; `gracePeriodSeconds`
   * as DeleteOptions (undefined: the pod's own). Resolves when the API took it
   * (or the pod is gone already).
   */
  async deletePod(
    pod: { namespace: string; name: string },
    gracePeriodSeconds: number | undefined,
    options: KubeCallOptions = {},
  ): Promise<void> {
    try {
      await this.request(
        "DELETE",
        `/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/pods/${encodeURIComponent(pod.name)}`,
        { apiVersion: "v1", kind: "DeleteOptions", gracePeriodSeconds },
        options,
      );
    } catch (error) {
      if (!(error instanceof KubeApiError && error.status === 404)) throw error;
    }
  }

  /**
   * Evicts every pod on a node except DaemonSet pods, mirror pods and pods
   * that have finished, and waits until they are gone. Evictions a disruption
   * budget refuses are tried again with a doubling delay; after
   * `drainTimeoutMs` it throws a DrainTimeoutError (KUBERNETES_DRAIN_TIMEOUT)
   * naming the pods still refused and the budgets refusing them. Only with
   * `forceAfterMs` are pods still refused by then deleted instead, each one
   * reported to `onForce`. Cordon the node first, or new pods may land on it.
   */
  async drain(node: string, options: DrainOptions = {}): Promise<DrainResult> {
    const limitMs = options.drainTimeoutMs ?? 300_000;
    const intervalMs = options.intervalMs ?? 1_000;
    const maxIntervalMs = Math.max(intervalMs, options.maxIntervalMs ?? 10_000);
    const forceAfterMs = options.forceAfterMs;
    if (forceAfterMs !== undefined && !(forceAfterMs >= 0 && forceAfterMs < limitMs)) {
      throw new KubernetesError(
        "KUBERNETES_INVALID_ARGUMENT",
        `forceAfterMs (${forceAfterMs}) must be at least 0 and less than the drain timeout (${limitMs} ms)`,
      );
    }
    const started = Date.now();
    const deadline = started + limitMs;
    const forceAt = forceAfterMs === undefined ? undefined : started + forceAfterMs;
    const call = { signal: options.signal, timeoutMs: options.timeoutMs };
    const result: DrainResult = { evicted: [], forced: [] };
    const refusals = new Map<string, BlockedPod>();

    // Each round reads the node's pods again (pods evicted but still
    // terminating are not asked twice) and tries every one left.
    const evicted = new Set<string>();
    for (let round = 1; ; round++) {
      const pending = (await this.podsOn(node, call)).filter(
        (p) => movable(p) && !evicted.has(podKey(p)),
      );
      const refused: KubePod[] = [];
      for (const pod of pending) {
        const refusal = await this.evict(pod, call);
        if (!refusal) {
          evicted.add(podKey(pod));
          result.evicted.push(pod);
          options.onEvict?.(pod);
          continue;
        }
        if (!refusals.has(podKey(pod))) options.onRefused?.(pod, refusal);
        refusals.set(podKey(pod), refusal);
        refused.push(pod);
      }
      if (!refused.length) break;
      if (forceAt !== undefined && Date.now() >= forceAt) {
        for (const pod of refused) {
          // kubectl drain without --grace-period leaves the period to the pod's own spec.
          await this.deletePod(pod, pod.terminationGracePeriodSeconds, call);
          result.forced.push(pod);
          options.onForce?.(pod, refusals.get(podKey(pod)) as BlockedPod);
        }
        break;
      }
      // Doubling delay, but never past the moment the fallback is due.
      const next = Math.min(
        Date.now() + Math.min(maxIntervalMs, intervalMs * 2 ** (round - 1)),
        forceAt ?? Number.POSITIVE_INFINITY,
      );
      if (next >= deadline) {
        const blocked = refused.map((p) => refusals.get(podKey(p)) as BlockedPod);
        throw new DrainTimeoutError(
          `draining ${node} did not finish within ${limitMs} ms: disruption budgets still refuse to evict ${blocked.length} pod(s): ${blocked.map(describeBlocked).join("; ")}`,
          blocked,
        );
      }
      await sleep(Math.max(0, next - Date.now()), options.signal);
    }

    // Then wait until the pods are gone from the node.
    await pollUntil(
      async (signal) => {
        const left = (await this.podsOn(node, { signal, timeoutMs: options.timeoutMs })).filter(
          movable,
        );
        return left.length ? undefined : true;
      },
      {
        intervalMs,
        timeoutMs: Math.max(0, deadline - Date.now()),
        signal: options.signal,
        timedOut: () =>
          new DrainTimeoutError(
            `draining ${node} did not finish within ${limitMs} ms: evicted pods are still on the node`,
            [],
          ),
      },
    );
    return result;
  }
}

function describeBlocked(b: BlockedPod): string {
  const by = b.budgets.length ? `budget ${b.budgets.join(", ")}` : "a disruption budget";
  return `${b.pod} (${by}: ${b.reason})`;
}
