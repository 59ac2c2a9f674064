// Nodes and pods as upgrades see them, read from the API's JSON objects: a
// Node's Ready condition, kubelet version, addresses, role and OS (what
// cluster discovery needs), a pod's labels, owner, phase and readiness.

/** A pod as drain sees it. */
export interface KubePod {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** Owned by a DaemonSet (drain leaves it). */
  daemonSet: boolean;
  /** A static pod's mirror (drain leaves it). */
  mirror: boolean;
  phase: string;
  /** Its Ready condition is "True". */
  ready: boolean;
  /** spec.terminationGracePeriodSeconds, when set. */
  terminationGracePeriodSeconds: number | undefined;
}

/**
 * A Node as upgrades and cluster discovery see it: readiness, kubelet
 * version, addresses, control-plane role, OS image and architecture.
 */
export interface KubeNode {
  name: string;
  /** The Ready condition is "True". */
  ready: boolean;
  /** Why not: the Ready condition's reason and message (or "no Ready condition"); "" when ready. */
  reason: string;
  /** status.nodeInfo.kubeletVersion, e.g. "v1.34.1", when reported. */
  kubeletVersion: string | undefined;
  unschedulable: boolean;
  /** Every status.addresses entry (InternalIP, ExternalIP, Hostname, ...), in the API's order. */
  addresses: { type: string; address: string }[];
  /** status.addresses of type InternalIP, in the API's order. */
  internalIPs: string[];
  /** status.addresses of type ExternalIP, in the API's order. */
  externalIPs: string[];
  /** The address of type Hostname, when reported. */
  hostname: string | undefined;
  /** Labelled node-role.kubernetes.io/control-plane. */
  controlPlane: boolean;
  /** status.nodeInfo.osImage, e.g. "Talos (v1.13.3)". */
  osImage: string | undefined;
  /** status.nodeInfo.architecture, e.g. "amd64" or "arm64". */
  architecture: string | undefined;
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
export function kubeNodeOf(name: string, body: unknown): KubeNode {
  const n = (body ?? {}) as {
    metadata?: { name?: string; labels?: Record<string, string> };
    spec?: { unschedulable?: boolean };
    status?: {
      addresses?: { type?: string; address?: string }[];
      conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
      nodeInfo?: { kubeletVersion?: string; osImage?: string; architecture?: string };
    };
  };
  const cond = (n.status?.conditions ?? []).find((c) => c.type === "Ready");
  const ready = cond?.status === "True";
  const addresses = (type: string) =>
    (n.status?.addresses ?? []).flatMap((a) => (a.type === type && a.address ? [a.address] : []));
  const why = cond
    ? [cond.reason || `Ready=${cond.status ?? "Unknown"}`, cond.message].filter(Boolean).join(": ")
    : "no Ready condition";
  return {
    name: n.metadata?.name ?? name,
    ready,
    reason: ready ? "" : why,
    kubeletVersion: n.status?.nodeInfo?.kubeletVersion || undefined,
    unschedulable: n.spec?.unschedulable === true,
    addresses: (n.status?.addresses ?? []).flatMap((a) =>
      a.type && a.address ? [{ type: a.type, address: a.address }] : [],
    ),
    internalIPs: addresses("InternalIP"),
    externalIPs: addresses("ExternalIP"),
    hostname: addresses("Hostname")[0],
    controlPlane: "node-role.kubernetes.io/control-plane" in (n.metadata?.labels ?? {}),
    osImage: n.status?.nodeInfo?.osImage || undefined,
    architecture: n.status?.nodeInfo?.architecture || undefined,
  };
}

/** Reads a Pod object as returned by the API. */
export function kubePodOf(body: unknown): KubePod {
  const p = (body ?? {}) as {
    metadata?: {
      name?: string;
      namespace?: string;
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
      ownerReferences?: { kind?: string }[];
    };
    spec?: { terminationGracePeriodSeconds?: number };
    status?: { phase?: string; conditions?: { type?: string; status?: string }[] };
  };
  return {
    namespace: p.metadata?.namespace ?? "default",
    name: p.metadata?.name ?? "",
    labels: p.metadata?.labels ?? {},
    daemonSet: (p.metadata?.ownerReferences ?? []).some((o) => o.kind === "DaemonSet"),
    mirror: Boolean(p.metadata?.annotations?.["kubernetes.io/config.mirror"]),
    phase: p.status?.phase ?? "",
    ready: (p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True"),
    terminationGracePeriodSeconds: p.spec?.terminationGracePeriodSeconds,
  };
}

/** Whether drain moves a pod: not a DaemonSet's, not a mirror, not finished. */
export function movable(p: KubePod): boolean {
  return !p.daemonSet && !p.mirror && p.phase !== "Succeeded" && p.phase !== "Failed";
}

/** The items of a list answer. */
export function itemsOf(body: unknown): unknown[] {
  return (body as { items?: unknown[] } | undefined)?.items ?? [];
}
