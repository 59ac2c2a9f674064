// Planning a cluster upgrade: read every node, work out each node's version
// path and installer images (keeping its schematic unless the caller gives a
// new one), order the work (control planes one at a time, then workers) in
// waves, one per version on the way, and check Kubernetes compatibility.
import type { TalosClient } from "@taloskit/client";
import { compareVersions, messageOf, minorLine, versionTag } from "@taloskit/core";
import { installerImage, registryHost } from "@taloskit/factory";
import type { KubeClient } from "../kubernetes/index.js";
import { UpgradeError } from "./errors.js";
import type { UpgradeMethod } from "./events.js";
import { type NodeFacts, readFactsOfNodes, readSpec } from "./inspect.js";
import { methodFor } from "./single.js";
import {
  checkKubernetes,
  type KubernetesCheck,
  type ParsedCatalog,
  parseCatalog,
  versionPath,
} from "./versions.js";

/** The part of a factory client planning needs (FactoryClient has it). */
export interface FactoryVersions {
  readonly baseUrl: string;
  versions(options?: { signal?: AbortSignal }): Promise<string[]>;
  brokenVersions?(options?: { signal?: AbortSignal }): Promise<string[]>;
}

/** A new schematic: one for every node, one per node address, or a function of the node's facts. */
export type SchematicChoice =
  | string
  | Readonly<Record<string, string>>
  | ((facts: NodeFacts) => string | undefined);

/** Options of planUpgrade(). */
export interface PlanOptions {
  /** Target Talos version. */
  to: string;
  /** Nodes to upgrade (default: the client's default nodes). */
  nodes?: readonly string[];
  /** Where versions come from, and the default installer registry. */
  factory: FactoryVersions;
  /** Installer registry host, e.g. "factory.talos.dev" (default: the factory's host). */
  registry?: string;
  /** A new schematic (for example from hardware resolution); default: each node keeps its own. */
  schematic?: SchematicChoice;
  /** The cluster's Kubernetes version; default: read from the Kubernetes API, else from a node. */
  kubernetesVersion?: string;
  /** Kubernetes API client, to read the cluster's version. */
  kube?: KubeClient;
  /** "auto" (default), or force one method for every node. */
  method?: "auto" | UpgradeMethod;
  signal?: AbortSignal;
  /** Per call (default 30 s). */
  timeoutMs?: number;
  /** Nodes read at once (default 16). */
  concurrency?: number;
}

/** One installation on a node. */
export interface PlannedStep {
  version: string;
  image: string;
  schematic: string;
  method: UpgradeMethod;
}

/** What happens to one node. */
export interface PlannedNode {
  node: string;
  hostname: string;
  role: "controlplane" | "worker";
  platform: string;
  secureBoot: boolean;
  arch: string;
  /** Version and schematic now. */
  version: string;
  schematic: string;
  /** Schematic after the upgrade. */
  targetSchematic: string;
  steps: PlannedStep[];
  action: "upgrade" | "skip";
}

/** One version on the way: control planes one at a time, then workers. */
export interface PlannedWave {
  version: string;
  controlPlanes: string[];
  workers: string[];
}

/** A cluster upgrade plan. */
export interface UpgradePlan {
  target: string;
  registry: string;
  /** Control planes first, then workers, each in the order given. */
  nodes: PlannedNode[];
  waves: PlannedWave[];
  kubernetes: KubernetesCheck & { source: "option" | "kubernetes-api" | "node" | "unknown" };
  warnings: string[];
}

function pickSchematic(choice: SchematicChoice | undefined, facts: NodeFacts): string {
  let s: string | undefined;
  if (typeof choice === "string") s = choice;
  else if (typeof choice === "function") s = choice(facts);
  else if (choice) s = choice[facts.node];
  s = s ?? facts.schematic;
  if (!/^[0-9a-f]{64}$/.test(s)) {
    throw new UpgradeError(
      "UPGRADE_INVALID_ARGUMENT",
      `schematic "${s}" for ${facts.node} is not a 64-digit hex schematic ID`,
      { node: facts.node, step: "plan" },
    );
  }
  return s;
}

/** The steps one node needs, from its facts. Exported for tests and custom planners. */
export function planNode(
  facts: NodeFacts,
  options: {
    to: string;
    /** Versions the factory offers (or `catalog`). */
    available?: readonly string[];
    broken?: readonly string[];
    /** The factory's versions parsed once (parseCatalog), instead of available and broken. */
    catalog?: ParsedCatalog;
    registry: string;
    schematic?: SchematicChoice;
    method?: "auto" | UpgradeMethod;
  },
): PlannedNode {
  const targetSchematic = pickSchematic(options.schematic, facts);
  let path: string[];
  try {
    path = versionPath(
      facts.version,
      options.to,
      options.catalog ?? { available: options.available ?? [], broken: options.broken ?? [] },
    );
  } catch (error) {
    if (error instanceof UpgradeError) {
      throw new UpgradeError(error.code, `${facts.node}: ${error.message}`, {
        node: facts.node,
        step: "plan",
        cause: error,
      });
    }
    throw error;
  }
  if (path.length === 0 && targetSchematic !== facts.schematic) path = [versionTag(options.to)];
  const steps = path.map((version, i) => ({
    version,
    schematic: targetSchematic,
    image: installerImage(options.registry, {
      schematicId: targetSchematic,
      version,
      platform: facts.platform,
      secureBoot: facts.secureBoot,
    }),
    method: methodFor(i === 0 ? facts.version : (path[i - 1] as string), options.method),
  }));
  return {
    node: facts.node,
    hostname: facts.hostname,
    role: facts.role,
    platform: facts.platform,
    secureBoot: facts.secureBoot,
    arch: facts.arch,
    version: facts.version,
    schematic: facts.schematic,
    targetSchematic,
    steps,
    action: steps.length ? "upgrade" : "skip",
  };
}

/** Orders planned nodes into waves, one per version on the way. */
export function wavesOf(nodes: readonly PlannedNode[]): PlannedWave[] {
  const versions = [...new Set(nodes.flatMap((n) => n.steps.map((s) => s.version)))].sort(
    compareVersions,
  );
  return versions.map((version) => {
    const has = (n: PlannedNode) => n.steps.some((s) => s.version === version);
    return {
      version,
      controlPlanes: nodes.filter((n) => n.role === "controlplane" && has(n)).map((n) => n.node),
      workers: nodes.filter((n) => n.role === "worker" && has(n)).map((n) => n.node),
    };
  });
}

/** Plans planned nodes into an UpgradePlan (no network). */
export function assemblePlan(
  target: string,
  registry: string,
  planned: PlannedNode[],
  kubernetes: UpgradePlan["kubernetes"],
  warnings: string[] = [],
): UpgradePlan {
  const nodes = [
    ...planned.filter((n) => n.role === "controlplane"),
    ...planned.filter((n) => n.role === "worker"),
  ];
  return {
    target: versionTag(target),
    registry,
    nodes,
    waves: wavesOf(nodes),
    kubernetes,
    warnings,
  };
}

async function kubernetesVersionOf(
  client: TalosClient,
  facts: NodeFacts[],
  options: PlanOptions,
): Promise<{ version: string | undefined; source: UpgradePlan["kubernetes"]["source"] }> {
  if (options.kubernetesVersion) return { version: options.kubernetesVersion, source: "option" };
  if (options.kube) {
    const v = await options.kube.version({ signal: options.signal });
    return { version: v, source: "kubernetes-api" };
  }
  const cp = facts.find((f) => f.role === "controlplane") ?? facts[0];
  if (cp) {
    const spec = (await readSpec(
      client,
      cp.node,
      { namespace: "k8s", type: "KubeletSpecs.kubernetes.talos.dev", id: "kubelet" },
      { signal: options.signal, timeoutMs: options.timeoutMs },
    ).catch(() => undefined)) as { image?: string } | undefined;
    const tag = spec?.image?.slice(spec.image.lastIndexOf(":") + 1);
    if (tag && minorLine(tag)) return { version: tag, source: "node" };
  }
  return { version: undefined, source: "unknown" };
}

/**
 * Reads every node and plans the upgrade to `options.to`. Throws UpgradeError
 * when a node cannot be read, a jump is impossible, or Kubernetes would be
 * unsupported on a version on the way.
 */
export async function planUpgrade(client: TalosClient, options: PlanOptions): Promise<UpgradePlan> {
  const nodes = [...(options.nodes ?? client.nodes)];
  if (nodes.length === 0) {
    throw new UpgradeError("UPGRADE_INVALID_ARGUMENT", "no nodes to upgrade: pass nodes", {
      step: "plan",
    });
  }
  const registry = registryHost(options.registry ?? options.factory.baseUrl);
  const [available, broken] = await Promise.all([
    options.factory.versions({ signal: options.signal }),
    options.factory.brokenVersions?.({ signal: options.signal }) ?? Promise.resolve([]),
  ]).catch((error: unknown) => {
    throw new UpgradeError(
      "UPGRADE_TARGET_UNKNOWN",
      `cannot read versions from the Image Factory: ${messageOf(error)}`,
      { step: "plan", cause: error },
    );
  });
  const results = await readFactsOfNodes(client, nodes, {
    signal: options.signal,
    timeoutMs: options.timeoutMs,
    concurrency: options.concurrency ?? 16,
  });
  const facts: NodeFacts[] = [];
  for (const r of results) {
    if ("error" in r) {
      throw new UpgradeError(
        "UPGRADE_NODE_UNREADABLE",
        `cannot read node ${r.node}: ${r.error.message}`,
        { node: r.node, step: "plan", cause: r.error },
      );
    }
    facts.push(r.value);
  }
  const catalog = parseCatalog({ available, broken });
  const planned = facts.map((f) =>
    planNode(f, {
      to: options.to,
      catalog,
      registry,
      schematic: options.schematic,
      method: options.method,
    }),
  );
  const warnings: string[] = [];
  const k = await kubernetesVersionOf(client, facts, options);
  const talosVersions = planned.flatMap((n) =>
    n.steps.length ? n.steps.map((s) => s.version) : [n.version],
  );
  const check = checkKubernetes(k.version, talosVersions);
  if (!check.ok) {
    throw new UpgradeError(
      "UPGRADE_KUBERNETES_INCOMPATIBLE",
      `Kubernetes ${k.version} is not supported on the way to ${versionTag(options.to)}: ${check.problems.join("; ")}; upgrade Kubernetes first (or pick another target)`,
      { step: "plan" },
    );
  }
  if (!k.version) {
    warnings.push(
      "the Kubernetes version is unknown (pass kubernetesVersion or a kubeconfig): compatibility was not checked",
    );
  }
  if (check.unknown.length) {
    warnings.push(`no Kubernetes compatibility data for Talos ${check.unknown.join(", ")}`);
  }
  if (facts.filter((f) => f.role === "controlplane").length === 1) {
    warnings.push(
      "a single control-plane node: etcd and the Kubernetes API are down while it reboots",
    );
  }
  return assemblePlan(options.to, registry, planned, { ...check, source: k.source }, warnings);
}
