// The simulated cluster's objects and how the API renders them as JSON:
// Nodes (Ready condition, addresses, roles, nodeInfo), Pods (labels, owner,
// readiness, grace period) and PodDisruptionBudgets (policy/v1, with the
// status the disruption controller would write).
import type { PdbSpec, PdbStatus } from "./disruption.js";

/** A pod in the simulated cluster. */
export interface KubeSimPod {
  namespace: string;
  name: string;
  /** The node it runs on; "" while it is Pending, not scheduled. */
  nodeName: string;
  labels?: Record<string, string>;
  /** Kind of its controller: "ReplicaSet" pods are replaced elsewhere when evicted; "DaemonSet" pods are left by drain. */
  ownerKind?: string;
  /** Name of its controller (default `<pod name>-owner`). */
  ownerName?: string;
  /** A static pod's mirror (annotation kubernetes.io/config.mirror). */
  mirror?: boolean;
  /** status.phase (default Running). */
  phase?: string;
  /** Its Ready condition (default true); also false while its node is not Ready. */
  ready?: boolean;
  /** spec.terminationGracePeriodSeconds (default 30, as Kubernetes). */
  terminationGracePeriodSeconds?: number;
}

/** A PodDisruptionBudget (policy/v1) of the simulated cluster. */
export interface KubeSimPdb extends PdbSpec {
  namespace: string;
  name: string;
}

/** A simulated Node. */
export interface KubeSimNode {
  unschedulable: boolean;
  /** Set false to make the node NotReady regardless of `isReady` (a broken kubelet). */
  ready: boolean;
  /** status.nodeInfo.kubeletVersion. */
  kubeletVersion: string;
  /** status.addresses, e.g. InternalIP, ExternalIP, Hostname. */
  addresses: { type: string; address: string }[];
  /** Labelled node-role.kubernetes.io/control-plane. */
  controlPlane: boolean;
  /** status.nodeInfo.osImage, e.g. "Talos (v1.13.3)". */
  osImage: string;
  /** status.nodeInfo.architecture, e.g. "amd64". */
  architecture: string;
}

/** A node as the simulator is given it: a name, or a name with its details. */
export type KubeSimNodeInit = string | ({ name: string } & Partial<KubeSimNode>);

export const ownerOf = (p: KubeSimPod) => p.ownerName ?? `${p.name}-owner`;

export function podJson(p: KubeSimPod, ready: boolean) {
  return {
    kind: "Pod",
    apiVersion: "v1",
    metadata: {
      namespace: p.namespace,
      name: p.name,
      labels: p.labels ?? {},
      annotations: p.mirror ? { "kubernetes.io/config.mirror": "mirror" } : {},
      ownerReferences: p.ownerKind
        ? [{ apiVersion: "apps/v1", kind: p.ownerKind, name: ownerOf(p), controller: true }]
        : [],
    },
    spec: {
      nodeName: p.nodeName || undefined,
      terminationGracePeriodSeconds: p.terminationGracePeriodSeconds ?? 30,
    },
    status: {
      phase: p.phase ?? "Running",
      conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
    },
  };
}

export function nodeJson(name: string, node: KubeSimNode, ready: boolean) {
  return {
    kind: "Node",
    apiVersion: "v1",
    metadata: {
      name,
      labels: {
        "kubernetes.io/hostname": name,
        "kubernetes.io/arch": node.architecture,
        "kubernetes.io/os": "linux",
        ...(node.controlPlane ? { "node-role.kubernetes.io/control-plane": "" } : {}),
      },
    },
    spec: node.unschedulable ? { unschedulable: true } : {},
    status: {
      addresses: node.addresses,
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
      nodeInfo: {
        kubeletVersion: node.kubeletVersion,
        osImage: node.osImage,
        architecture: node.architecture,
        operatingSystem: "linux",
      },
    },
  };
}

export function pdbJson(b: KubeSimPdb, status: PdbStatus) {
  const allowed = status.disruptionsAllowed > 0;
  return {
    kind: "PodDisruptionBudget",
    apiVersion: "policy/v1",
    metadata: { namespace: b.namespace, name: b.name, generation: 1 },
    spec: {
      selector: { matchLabels: b.matchLabels },
      ...(b.minAvailable !== undefined ? { minAvailable: b.minAvailable } : {}),
      ...(b.maxUnavailable !== undefined ? { maxUnavailable: b.maxUnavailable } : {}),
      ...(b.unhealthyPodEvictionPolicy
        ? { unhealthyPodEvictionPolicy: b.unhealthyPodEvictionPolicy }
        : {}),
    },
    status: {
      observedGeneration: 1,
      ...status,
      conditions: [
        {
          type: "DisruptionAllowed",
          status: allowed ? "True" : "False",
          reason: allowed ? "SufficientPods" : "InsufficientPods",
        },
      ],
    },
  };
}
