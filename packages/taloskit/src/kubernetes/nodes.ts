// Nodes and pods as the upgrade sees them, read from the API's JSON objects:
// a Node's Ready condition and kubelet version, a pod's owner and phase.

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

/** Reads a Pod object as returned by the API. */
export function kubePodOf(body: unknown): KubePod {
  const p = (body ?? {}) as {
    metadata?: {
      name?: string;
      namespace?: string;
      annotations?: Record<string, string>;
      ownerReferences?: { kind?: string }[];
    };
    status?: { phase?: string };
  };
  return {
    namespace: p.metadata?.namespace ?? "default",
    name: p.metadata?.name ?? "",
    daemonSet: (p.metadata?.ownerReferences ?? []).some((o) => o.kind === "DaemonSet"),
    mirror: Boolean(p.metadata?.annotations?.["kubernetes.io/config.mirror"]),
    phase: p.status?.phase ?? "",
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
