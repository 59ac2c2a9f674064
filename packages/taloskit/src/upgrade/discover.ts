// Finding every node of a cluster from one of its nodes, so that an upgrade
// plan cannot silently leave nodes out: Talos's own cluster discovery (the
// Member resources every node publishes), etcd's member list (the control
// planes, even with discovery off) and, when a Kubernetes client is given,
// the Kubernetes Nodes. Nodes are merged by hostname and address; each keeps
// the sources that saw it.
import type { TalosClient } from "@taloskit/client";
import { messageOf } from "@taloskit/core";
import type { KubeClient } from "../kubernetes/index.js";
import { type InspectOptions, listSpecs } from "./inspect.js";

/** Where a node was seen. */
export type DiscoverySource = "talos" | "etcd" | "kubernetes" | "given";

/** One node of the cluster. */
export interface DiscoveredNode {
  /** The address the client reaches it by: a given one when it has one, else its first IPv4. */
  node: string;
  hostname: string;
  role: "controlplane" | "worker" | "unknown";
  addresses: string[];
  seenBy: DiscoverySource[];
}

/** What discovery found, and what it could not look at. */
export interface ClusterDiscovery {
  nodes: DiscoveredNode[];
  /** Sources that could not be read, and why (a plan shows them). */
  warnings: string[];
}

/** Options of discoverCluster(). */
export interface DiscoverOptions extends InspectOptions {
  /** Nodes to ask, in order (the first that answers is used). */
  via: readonly string[];
  /** Nodes the caller names (addresses or hostnames): part of the answer, found or not. Default `via`. */
  given?: readonly string[];
  /** Also list the Kubernetes Nodes. */
  kube?: KubeClient | undefined;
}

interface Sighting {
  hostname?: string | undefined;
  addresses: string[];
  role?: DiscoveredNode["role"] | undefined;
  source: DiscoverySource;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** An address without its prefix length ("10.0.0.2/24" -> "10.0.0.2"). */
function bare(address: string): string {
  return address.replace(/\/\d+$/, "");
}

/** The host of a URL such as etcd's peer URL "https://10.0.0.2:2380". */
function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname.replace(/^\[(.*)\]$/, "$1") || undefined;
  } catch {
    return undefined;
  }
}

/** Talos's cluster discovery: one Member per node of the cluster. */
async function talosMembers(
  client: TalosClient,
  via: string,
  options: InspectOptions,
): Promise<Sighting[]> {
  const specs = await listSpecs(
    client,
    via,
    { namespace: "cluster", type: "Members.cluster.talos.dev" },
    options,
  );
  return specs.map((s) => {
    const m = (s ?? {}) as { hostname?: string; addresses?: unknown[]; machineType?: string };
    const type = String(m.machineType ?? "");
    return {
      hostname: m.hostname || undefined,
      addresses: (m.addresses ?? []).map((a) => bare(String(a))),
      role: /control|init/.test(type) ? "controlplane" : type ? "worker" : undefined,
      source: "talos" as const,
    };
  });
}

/** etcd's members, read on a control-plane node: each is a control plane. */
async function etcdMembers(
  client: TalosClient,
  node: string,
  options: InspectOptions,
): Promise<Sighting[]> {
  const res = await client
    .at(node)
    .machine.etcdMemberList(
      { queryLocal: false },
      { signal: options.signal, timeoutMs: options.timeoutMs ?? 30_000 },
    );
  return (res.messages[0]?.members ?? []).map((m) => ({
    hostname: m.hostname || undefined,
    addresses: [...m.peerUrls, ...m.clientUrls].flatMap((u) => hostOf(u) ?? []),
    role: "controlplane" as const,
    source: "etcd" as const,
  }));
}

/** The Kubernetes Nodes: a Node's name is its Talos hostname unless configured otherwise. */
async function kubernetesNodes(kube: KubeClient, options: InspectOptions): Promise<Sighting[]> {
  const nodes = await kube.nodes({ signal: options.signal, timeoutMs: options.timeoutMs });
  return nodes.map((n) => ({
    hostname: n.name,
    addresses: [...n.internalIPs, ...n.externalIPs],
    role: n.controlPlane ? "controlplane" : "worker",
    source: "kubernetes" as const,
  }));
}

type Merged = DiscoveredNode & { keys: Set<string> };

/**
 * Merges sightings of the same node (same hostname or a shared address), then
 * marks the given nodes (by address or hostname); a given node nothing else
 * saw is kept as given.
 */
function merge(sightings: Sighting[], given: readonly string[]): DiscoveredNode[] {
  const out: Merged[] = [];
  for (const s of sightings) {
    const keys = [...(s.hostname ? [`h:${s.hostname}`] : []), ...s.addresses.map((a) => `a:${a}`)];
    let n = out.find((o) => keys.some((k) => o.keys.has(k)));
    if (!n) {
      n = { node: "", hostname: "", role: "unknown", addresses: [], seenBy: [], keys: new Set() };
      out.push(n);
    }
    for (const k of keys) n.keys.add(k);
    if (s.hostname && !n.hostname) n.hostname = s.hostname;
    for (const a of s.addresses) if (!n.addresses.includes(a)) n.addresses.push(a);
    // Talos's own word on the role wins over what etcd or Kubernetes suggest.
    if (s.role && (n.role === "unknown" || s.source === "talos")) n.role = s.role;
    if (!n.seenBy.includes(s.source)) n.seenBy.push(s.source);
  }
  const reachedBy = new Map<Merged, string>();
  for (const g of given) {
    const n = out.find((o) => o.keys.has(`a:${g}`) || o.keys.has(`h:${g}`));
    if (!n) {
      out.push({
        node: g,
        hostname: g,
        role: "unknown",
        addresses: [],
        seenBy: ["given"],
        keys: new Set([`a:${g}`]),
      });
      continue;
    }
    if (!n.seenBy.includes("given")) n.seenBy.unshift("given");
    // A given address is how the caller reaches the node; a hostname is not an address.
    if (n.keys.has(`a:${g}`) && !reachedBy.has(n)) reachedBy.set(n, g);
  }
  return out.map((n) => {
    const { keys: _, ...rest } = n;
    const node =
      reachedBy.get(n) ?? n.addresses.find((a) => IPV4.test(a)) ?? n.addresses[0] ?? n.hostname;
    return { ...rest, node, hostname: n.hostname || node };
  });
}

/**
 * Every node of the cluster the `via` nodes belong to. Sources that cannot be
 * read become warnings; the given nodes are always part of the answer.
 */
export async function discoverCluster(
  client: TalosClient,
  options: DiscoverOptions,
): Promise<ClusterDiscovery> {
  const warnings: string[] = [];
  const given = options.given ?? options.via;
  const sightings: Sighting[] = [];
  let talos: Sighting[] = [];
  let asked: string | undefined;
  for (const via of options.via) {
    try {
      talos = await talosMembers(client, via, options);
      asked = via;
      break;
    } catch (error) {
      warnings.push(`cannot read Talos cluster members on ${via}: ${messageOf(error)}`);
    }
  }
  if (asked && talos.length === 0) {
    warnings.push(
      "Talos cluster discovery lists no members (is cluster discovery off?): nodes are found through etcd and Kubernetes only",
    );
  }
  sightings.push(...talos);

  // etcd on a control plane: one Talos names, else a given node that runs etcd.
  const controlPlanes = [
    ...talos.filter((t) => t.role === "controlplane").flatMap((t) => t.addresses.slice(0, 1)),
    ...options.via,
  ];
  let etcd: Sighting[] | undefined;
  for (const cp of controlPlanes) {
    try {
      etcd = await etcdMembers(client, cp, options);
      break;
    } catch {
      // A worker has no etcd; try the next candidate.
    }
  }
  if (etcd) sightings.push(...etcd);
  else warnings.push("cannot list etcd members on any control-plane node found");

  if (options.kube) {
    try {
      sightings.push(...(await kubernetesNodes(options.kube, options)));
    } catch (error) {
      warnings.push(`cannot list Kubernetes nodes: ${messageOf(error)}`);
    }
  }
  return { nodes: merge(sightings, given), warnings };
}
