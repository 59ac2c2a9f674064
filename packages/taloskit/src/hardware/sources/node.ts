// Inventory of a live Talos node: reads its COSI hardware resources through
// the client (configured nodes and maintenance-mode nodes alike, since every
// resource read here is non-sensitive) and maps them with the pure
// inventoryFromTalosResources.
import type { NodeResult, TalosClient, TalosResource } from "@taloskit/client";
import { readSchematic } from "../../upgrade/inspect.js";
import type { MachineInventory } from "../inventory.js";
import { inventoryFromTalosResources, type TalosHardwareResources } from "./talos.js";

/** Options of {@link inventoryFromNode}. */
export interface NodeInventoryOptions {
  signal?: AbortSignal;
  /** Deadline of each call in milliseconds (default 30 s). */
  timeoutMs?: number;
}

/** Options of {@link inventoryFromNodes}. */
export interface NodesInventoryOptions extends NodeInventoryOptions {
  /** Nodes read at once (default 8). */
  concurrency?: number;
}

type Spec = Record<string, unknown>;

const asSpec = (r: TalosResource): Spec =>
  typeof r.spec === "object" && r.spec !== null && !Array.isArray(r.spec) ? (r.spec as Spec) : {};

function isUnknownType(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === "RESOURCE_TYPE_UNKNOWN";
}

/**
 * Reads the hardware resources of one node: SystemInformation, Processors,
 * CPUCores (Talos 1.14+), MemoryModules, PCIDevices, Disks, the Version
 * resource, the running schematic, PlatformMetadata, SecurityState, the
 * device-tree model and compatible strings (/proc/device-tree, for SBCs), and the arch from MachineService.Version
 * when the node serves it (Talos 1.12 maintenance nodes do not: the arch is
 * then inferred from the CPU and the PCI bridges). `node` is undefined for a
 * maintenance client or to ask the endpoint itself.
 */
export async function readTalosHardware(
  client: TalosClient,
  node: string | undefined,
  options: NodeInventoryOptions = {},
): Promise<TalosHardwareResources> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  // The calls run at once on one signal; the client lifts Node's listener limit for it.
  const call = () => ({ node, timeoutMs, signal: options.signal });
  const list = (type: string) => client.resources.list(type, call());
  const optional = (type: string) =>
    list(type).catch((error: unknown) => {
      if (isUnknownType(error)) return [] as TalosResource[];
      throw error;
    });
  const versionInfo = client
    .services(node)
    .machine.version({}, call())
    .then(
      (r) => r.messages[0]?.version,
      () => undefined,
    );
  const versionsList = optional("Versions.runtime.talos.dev");
  // The running schematic as the upgrade reads it (ImageFactorySchematic on 1.14+, else
  // the virtual `schematic` extension), once the version is known.
  const schematic = Promise.all([versionInfo, versionsList]).then(([v, versions]) => {
    const tag = v?.tag || versions.map(asSpec)[0]?.version;
    return readSchematic(client, node, typeof tag === "string" ? tag : "", {
      signal: options.signal,
      timeoutMs,
    });
  });
  const [
    system,
    processors,
    cores,
    memory,
    pci,
    disks,
    versions,
    running,
    info,
    platform,
    security,
    model,
    compatible,
  ] = await Promise.all([
    list("SystemInformations.hardware.talos.dev"),
    list("Processors.hardware.talos.dev"),
    optional("CPUCores.hardware.talos.dev"),
    list("MemoryModules.hardware.talos.dev"),
    list("PCIDevices.hardware.talos.dev"),
    optional("Disks.block.talos.dev"),
    versionsList,
    schematic,
    versionInfo,
    optional("PlatformMetadatas.talos.dev"),
    optional("SecurityStates.talos.dev"),
    // Boards without SMBIOS name themselves in the device tree; x86 machines have none.
    readOptionalFile(client, "/proc/device-tree/model", call()),
    readOptionalFile(client, "/proc/device-tree/compatible", call()),
  ]);
  const version = versions.map(asSpec)[0]?.version;
  const nulSeparated = (text: string | undefined) =>
    (text ?? "")
      .split("\0")
      .map((s) => s.trim())
      .filter(Boolean);
  return {
    node,
    arch: info?.arch || undefined,
    systemInformation: system[0] ? asSpec(system[0]) : undefined,
    processors: processors.map(asSpec),
    cpuCores: cores.map(asSpec),
    memoryModules: memory.map(asSpec),
    pciDevices: pci.map((r) => ({ id: r.metadata.id, spec: asSpec(r) })),
    disks: disks.map((r) => ({ id: r.metadata.id, spec: asSpec(r) })),
    talosVersion: typeof version === "string" ? version : undefined,
    schematicId: running.source === "none" ? undefined : running.schematic,
    platformMetadata: platform[0] ? asSpec(platform[0]) : undefined,
    securityState: security[0] ? asSpec(security[0]) : undefined,
    deviceTree:
      model !== undefined || compatible !== undefined
        ? { model: nulSeparated(model)[0], compatible: nulSeparated(compatible) }
        : undefined,
  };
}

/**
 * A small file of the node through MachineService.Read, or undefined when the
 * node has no such file or does not serve Read (maintenance mode, a reader role).
 */
async function readOptionalFile(
  client: TalosClient,
  path: string,
  call: { node: string | undefined; timeoutMs: number; signal: AbortSignal | undefined },
): Promise<string | undefined> {
  try {
    return await client.streams.read(path, call).text();
  } catch (error) {
    if (call.signal?.aborted) throw error;
    return undefined;
  }
}

/**
 * The inventory of a live Talos node, configured or in maintenance mode
 * (use a client from `TalosClient.maintenance()` and no node for the latter).
 */
export async function inventoryFromNode(
  client: TalosClient,
  node: string | undefined,
  options: NodeInventoryOptions = {},
): Promise<MachineInventory> {
  const inventory = inventoryFromTalosResources(await readTalosHardware(client, node, options));
  if (node === undefined && client.maintenanceMode) {
    const endpoint = client.endpoints[0];
    return { ...inventory, source: `talos ${endpoint} (maintenance)`, name: endpoint };
  }
  return inventory;
}

/**
 * Inventories of many nodes through one client (client-side fan-out): one
 * `{ node, value }` or `{ node, error }` per node, in the order given.
 */
export function inventoryFromNodes(
  client: TalosClient,
  nodes: readonly string[],
  options: NodesInventoryOptions = {},
): Promise<NodeResult<MachineInventory>[]> {
  return client.onNodes(
    nodes,
    (node, signal) => inventoryFromNode(client, node, { signal, timeoutMs: options.timeoutMs }),
    { concurrency: options.concurrency ?? 8, signal: options.signal },
  );
}
