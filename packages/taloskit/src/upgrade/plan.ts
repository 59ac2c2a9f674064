// Planning a cluster upgrade: find every node of the cluster, read each,
// work out each node's version path and installer images (keeping its
// schematic, platform and secure boot unless the caller gives a new
// schematic, and never one that drops an extension the node runs), order the
// work (control planes one at a time, then workers) in waves, one per version
// on the way, check Kubernetes compatibility, and warn about known hazards.
import type { TalosClient } from "@taloskit/client";
import {
  compareVersions,
  messageOf,
  minorLine,
  parseYamlDocuments,
  versionTag,
} from "@taloskit/core";
import {
  installerImage,
  registryHost,
  type Schematic,
  VANILLA_SCHEMATIC_ID,
} from "@taloskit/factory";
import { readMachineConfig } from "../config/apply.js";
import type { KubeClient } from "../kubernetes/index.js";
import { type DiscoveredNode, discoverCluster } from "./discover.js";
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
  /** A stored schematic, to check that a new one keeps each node's extensions. */
  getSchematic?(id: string, options?: { signal?: AbortSignal }): Promise<Schematic>;
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
  /**
   * Nodes to upgrade. Default: every node of the cluster, found from the
   * client's nodes (Talos cluster members, etcd members, Kubernetes Nodes
   * with `kube`). Given nodes must cover the cluster unless `subset` is set.
   */
  nodes?: readonly string[];
  /** The given `nodes` are meant as a part of the cluster: plan them alone, list the rest in `excluded`. */
  subset?: boolean;
  /** Find the cluster's nodes (default true); false plans exactly `nodes`, unchecked. */
  discover?: boolean;
  /** Plan a schematic that lacks an extension a node runs now (refused by default). */
  allowDroppedExtensions?: boolean;
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
  /** Nodes of the cluster left out on purpose (`subset`). */
  excluded: DiscoveredNode[];
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
  excluded: DiscoveredNode[] = [],
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
    excluded,
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

/** Whether a discovered node is one of the given ones (by address or hostname). */
function isGiven(d: DiscoveredNode, given: readonly string[]): boolean {
  return given.some((g) => g === d.node || g === d.hostname || d.addresses.includes(g));
}

/**
 * The nodes to plan: the whole cluster by default; given nodes must cover it
 * unless `subset`. Resolves with the nodes, those left out and discovery's warnings.
 */
async function nodesToPlan(
  client: TalosClient,
  options: PlanOptions,
): Promise<{ nodes: string[]; excluded: DiscoveredNode[]; warnings: string[] }> {
  const given = options.nodes ? [...options.nodes] : undefined;
  // Ask the given nodes first, then the client's own.
  const via = [...new Set([...(given ?? []), ...client.nodes])];
  if (via.length === 0) {
    throw new UpgradeError(
      "UPGRADE_INVALID_ARGUMENT",
      "no nodes to start from: pass nodes, or give the client default nodes",
      { step: "plan" },
    );
  }
  if (options.discover === false) {
    return {
      nodes: given ?? via,
      excluded: [],
      warnings: ["cluster discovery is off: nodes left out of the plan were not looked for"],
    };
  }
  const found = await discoverCluster(client, {
    via,
    given: given ?? [],
    kube: options.kube,
    signal: options.signal,
    timeoutMs: options.timeoutMs,
  });
  if (!given) {
    // Nothing found at all: the client's nodes are all there is to plan.
    const nodes = found.nodes.length ? found.nodes.map((d) => d.node) : via;
    return { nodes, excluded: [], warnings: found.warnings };
  }
  const left = found.nodes.filter((d) => !isGiven(d, given));
  if (left.length && !options.subset) {
    const names = left.map((d) => `${d.hostname} (${d.node}, ${d.role})`).join(", ");
    throw new UpgradeError(
      "UPGRADE_PARTIAL_PLAN",
      `the cluster has ${found.nodes.length} nodes and the plan names ${given.length}: it leaves out ${names}; plan the whole cluster, or say that a subset is meant (subset: true, --only)`,
      { step: "plan" },
    );
  }
  // Given hostnames become the addresses discovery found for them.
  const nodes = given.map((g) => found.nodes.find((d) => isGiven(d, [g]))?.node ?? g);
  return { nodes: [...new Set(nodes)], excluded: left, warnings: found.warnings };
}

/** The official extensions a schematic names, by short name ("siderolabs/amd-ucode" -> "amd-ucode"). */
function schematicExtensions(s: Schematic): string[] {
  return (s.customization?.systemExtensions?.officialExtensions ?? []).map((e) =>
    e.slice(e.lastIndexOf("/") + 1),
  );
}

/**
 * Refuses (unless allowed) a planned schematic that lacks an extension its
 * node runs now. Schematics are read from the factory once each.
 */
async function checkExtensionsKept(
  planned: readonly PlannedNode[],
  facts: ReadonlyMap<string, NodeFacts>,
  options: PlanOptions,
  warnings: string[],
): Promise<void> {
  const known = new Map<string, Promise<string[] | Error>>([
    [VANILLA_SCHEMATIC_ID, Promise.resolve([])],
  ]);
  const extensionsOf = (id: string) => {
    let p = known.get(id);
    if (!p) {
      const get = options.factory.getSchematic;
      p = get
        ? get
            .call(options.factory, id, { signal: options.signal })
            .then(schematicExtensions, (e: unknown) => new Error(messageOf(e)))
        : Promise.resolve(new Error("the factory client cannot read schematics"));
      known.set(id, p);
    }
    return p;
  };
  for (const n of planned) {
    const f = facts.get(n.node) as NodeFacts;
    // A node keeping the factory schematic it runs keeps its extensions.
    if (n.action === "skip" || f.extensions.length === 0) continue;
    if (n.targetSchematic === f.schematic && f.schematicSource !== "none") continue;
    const target = await extensionsOf(n.targetSchematic);
    const lost = target instanceof Error ? [] : f.extensions.filter((e) => !target.includes(e));
    let problem: string | undefined;
    if (target instanceof Error) {
      problem = `cannot read schematic ${n.targetSchematic} to check that it keeps the extensions ${n.node} runs (${f.extensions.join(", ")}): ${target.message}`;
    } else if (lost.length) {
      problem = `${n.node} runs ${lost.join(", ")}, which schematic ${n.targetSchematic} lacks: its installer would remove ${lost.length === 1 ? "it" : "them"}`;
    }
    if (!problem) continue;
    if (options.allowDroppedExtensions) {
      warnings.push(problem);
      continue;
    }
    throw new UpgradeError(
      "UPGRADE_EXTENSIONS_LOST",
      `${problem}; give a schematic with them, or allow dropping extensions`,
      { node: n.node, step: "plan" },
    );
  }
}

/**
 * The new upgrade path (LifecycleService, Talos 1.13+) does not hand the
 * config's machine.install.extraKernelArgs to the installer, so a GRUB node
 * that builds its command line on the host (grubUseUKICmdline not set, the
 * default of configs generated before 1.12) boots without them. Talos's
 * upgrade reports success all the same (siderolabs/talos#13967, documented in
 * siderolabs/docs#699). One warning per affected node.
 */
async function grubKernelArgsHazards(
  client: TalosClient,
  planned: readonly PlannedNode[],
  facts: ReadonlyMap<string, NodeFacts>,
  options: PlanOptions,
): Promise<string[]> {
  const exposed = planned.filter(
    (n) =>
      n.steps.some((s) => s.method === "lifecycle") &&
      !(facts.get(n.node) as NodeFacts).bootedWithUKI,
  );
  const out: string[] = [];
  for (const n of exposed) {
    let install: { extraKernelArgs?: unknown; grubUseUKICmdline?: unknown } | undefined;
    try {
      const { text } = await readMachineConfig(client, {
        node: n.node,
        signal: options.signal,
        timeoutMs: options.timeoutMs,
      });
      const v1 = parseYamlDocuments(text, { what: `machine config of ${n.node}` })
        .map(
          (d) => d.toJS() as { version?: unknown; machine?: { install?: typeof install } } | null,
        )
        .find((d) => d?.version === "v1alpha1");
      install = v1?.machine?.install;
    } catch (error) {
      out.push(
        `${n.node} boots with GRUB: cannot read its machine config to check machine.install.extraKernelArgs (${messageOf(error)})`,
      );
      continue;
    }
    const args = Array.isArray(install?.extraKernelArgs) ? install.extraKernelArgs : [];
    if (args.length === 0 || install?.grubUseUKICmdline === true) continue;
    out.push(
      `${n.node} boots with GRUB and its config sets machine.install.extraKernelArgs (${args.join(" ")}) without grubUseUKICmdline: the lifecycle upgrade does not pass them to the installer, so the node would boot without them; upgrade it with method "legacy" (until Talos removes it) or move the arguments into the schematic's extraKernelArgs`,
    );
  }
  return out;
}

/**
 * Finds the cluster's nodes, reads each and plans the upgrade to
 * `options.to`. Throws UpgradeError when the given nodes leave part of the
 * cluster out (without `subset`), a node cannot be read, a jump is
 * impossible, a new schematic drops a node's extension, or Kubernetes would
 * be unsupported on a version on the way.
 */
export async function planUpgrade(client: TalosClient, options: PlanOptions): Promise<UpgradePlan> {
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
  const scope = await nodesToPlan(client, options);
  const warnings = [...scope.warnings];
  const results = await readFactsOfNodes(client, scope.nodes, {
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
  const byNode = new Map(facts.map((f) => [f.node, f]));
  await checkExtensionsKept(planned, byNode, options, warnings);
  warnings.push(...(await grubKernelArgsHazards(client, planned, byNode, options)));
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
  if (facts.filter((f) => f.role === "controlplane").length === 1 && !options.subset) {
    warnings.push(
      "a single control-plane node: etcd and the Kubernetes API are down while it reboots",
    );
  }
  return assemblePlan(
    options.to,
    registry,
    planned,
    { ...check, source: k.source },
    warnings,
    scope.excluded,
  );
}
