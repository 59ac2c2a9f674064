// What the upgrade needs to know about a node, read from the node itself: its
// version, role, running schematic, platform, SecureBoot state, boot ID and
// machine status. Resources are read by their full type names straight from
// COSI: the upgrade knows the types it reads, so no definitions are looked up.
import type { Resource } from "@taloskit/api/cosi";
import { decodeResource, type NodeResult, type TalosClient } from "@taloskit/client";
import { atLeastMinor, tryParseTalosVersion } from "@taloskit/core";
import { VANILLA_SCHEMATIC_ID } from "@taloskit/factory";

/** Facts about one node. */
export interface NodeFacts {
  node: string;
  hostname: string;
  role: "controlplane" | "worker";
  /** Talos version tag, e.g. "v1.13.3". */
  version: string;
  arch: string;
  /** Running Image Factory schematic ID (the vanilla ID when the image is not from a factory). */
  schematic: string;
  /** Where the schematic was read from. */
  schematicSource: "ImageFactorySchematic" | "ExtensionStatus" | "none";
  platform: string;
  secureBoot: boolean;
  /** Booted a unified kernel image (systemd-boot); false for GRUB. */
  bootedWithUKI: boolean;
  /** System extensions it runs, by name (e.g. "amd-ucode"), without the virtual ones. */
  extensions: string[];
  /** Boot ID, when it could be read (BootID resource on 1.14+, else /proc as admin). */
  bootId: string | undefined;
  stage: string;
  ready: boolean;
}

/** Options of calls made while inspecting. */
export interface InspectOptions {
  signal?: AbortSignal | undefined;
  /** Per call, default 30 s. */
  timeoutMs?: number | undefined;
}

type Spec = Record<string, unknown>;

// Specs are read from yaml_spec (talosctl's keys), which does not depend on the
// node's version: no version is needed to decode them.
function specOf(res: Resource | undefined, node: string | undefined): unknown {
  return res ? decodeResource(res, node, undefined).spec : undefined;
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === "NOT_FOUND" || code === "PERMISSION_DENIED" || code === "UNIMPLEMENTED";
}

/** One resource's spec as plain data, or undefined when the node has no such resource. */
export async function readSpec(
  client: TalosClient,
  node: string | undefined,
  ref: { namespace: string; type: string; id: string },
  options: InspectOptions = {},
): Promise<unknown> {
  try {
    const res = await client
      .services(node)
      .cosi.get(ref, { signal: options.signal, timeoutMs: options.timeoutMs ?? 30_000 });
    return specOf(res.resource, node);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** Every resource of a type as plain specs; empty when the node has no such type. */
export async function listSpecs(
  client: TalosClient,
  node: string | undefined,
  ref: { namespace: string; type: string },
  options: InspectOptions,
): Promise<unknown[]> {
  const out: unknown[] = [];
  try {
    for await (const msg of client
      .services(node)
      .cosi.list(ref, { signal: options.signal, timeoutMs: options.timeoutMs ?? 30_000 })) {
      out.push(specOf(msg.resource, node));
    }
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
  return out;
}

/** The system extensions a node runs, by name (ExtensionStatus), without Talos's virtual ones. */
export async function readExtensions(
  client: TalosClient,
  node: string | undefined,
  options: InspectOptions = {},
): Promise<{ name: string; version: string }[]> {
  const layers = await listSpecs(
    client,
    node,
    { namespace: "runtime", type: "ExtensionStatuses.runtime.talos.dev" },
    options,
  );
  return layers.flatMap((l) => {
    const md = (l as { metadata?: Spec } | undefined)?.metadata;
    const name = typeof md?.name === "string" ? md.name : "";
    return name ? [{ name, version: typeof md?.version === "string" ? md.version : "" }] : [];
  });
}

/** The virtual extensions Talos and the Image Factory add: not extensions a schematic names. */
const VIRTUAL_EXTENSIONS = new Set(["schematic", "modules.dep"]);

/**
 * The schematic a node runs: ImageFactorySchematic on 1.14+, else the virtual
 * `schematic` extension. `node` is undefined for a maintenance client.
 * `extensions` are the node's, when already read.
 */
export async function readSchematic(
  client: TalosClient,
  node: string | undefined,
  version: string,
  options: InspectOptions = {},
  extensions?: readonly { name: string; version: string }[],
): Promise<{ schematic: string; source: NodeFacts["schematicSource"] }> {
  if (tryParseTalosVersion(version) && atLeastMinor(version, "1.14")) {
    const s = (await readSpec(
      client,
      node,
      {
        namespace: "runtime",
        type: "ImageFactorySchematics.runtime.talos.dev",
        id: "image-factory-schematic",
      },
      options,
    )) as Spec | undefined;
    if (typeof s?.schematicId === "string" && s.schematicId) {
      return { schematic: s.schematicId, source: "ImageFactorySchematic" };
    }
  }
  const running = extensions ?? (await readExtensions(client, node, options));
  const virtual = running.find((e) => e.name === "schematic" && e.version);
  if (virtual) return { schematic: virtual.version, source: "ExtensionStatus" };
  return { schematic: VANILLA_SCHEMATIC_ID, source: "none" };
}

/** The node's boot ID: the BootID resource (1.14+), else /proc/sys/kernel/random/boot_id (admin). */
export async function readBootId(
  client: TalosClient,
  node: string | undefined,
  version: string,
  options: InspectOptions = {},
): Promise<string | undefined> {
  if (tryParseTalosVersion(version) && atLeastMinor(version, "1.14")) {
    const s = (await readSpec(
      client,
      node,
      { namespace: "runtime", type: "BootIDs.runtime.talos.dev", id: "boot-id" },
      options,
    )) as Spec | undefined;
    if (typeof s?.bootID === "string" && s.bootID) return s.bootID;
  }
  try {
    const text = await client.streams
      .read("/proc/sys/kernel/random/boot_id", {
        node,
        signal: options.signal,
        timeoutMs: options.timeoutMs ?? 30_000,
      })
      .text();
    return text.trim() || undefined;
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** MachineStatus: stage ("running", "rebooting", ...) and readiness. */
export async function readMachineStatus(
  client: TalosClient,
  node: string,
  options: InspectOptions = {},
): Promise<{ stage: string; ready: boolean }> {
  const s = (await readSpec(
    client,
    node,
    { namespace: "runtime", type: "MachineStatuses.runtime.talos.dev", id: "machine" },
    options,
  )) as Spec | undefined;
  const status = s?.status as Spec | undefined;
  return { stage: String(s?.stage ?? "unknown"), ready: status?.ready === true };
}

async function readRole(
  client: TalosClient,
  node: string,
  options: InspectOptions,
): Promise<"controlplane" | "worker"> {
  const t = await readSpec(
    client,
    node,
    { namespace: "config", type: "MachineTypes.config.talos.dev", id: "machine-type" },
    options,
  );
  const text = typeof t === "string" ? t : String((t as Spec | undefined)?.machineType ?? "");
  if (/control|init/i.test(text)) return "controlplane";
  if (/worker|join/i.test(text)) return "worker";
  // No MachineType: a node running etcd is a control-plane node.
  const res = await client
    .at(node)
    .machine.serviceList({}, { signal: options.signal, timeoutMs: options.timeoutMs ?? 30_000 });
  const services = res.messages[0]?.services ?? [];
  return services.some((s) => s.id === "etcd") ? "controlplane" : "worker";
}

/** Reads every fact the upgrade needs from a node. */
export async function readNodeFacts(
  client: TalosClient,
  node: string,
  options: InspectOptions = {},
): Promise<NodeFacts> {
  const call = { signal: options.signal, timeoutMs: options.timeoutMs ?? 30_000 };
  const v = (await client.at(node).machine.version({}, call)).messages[0];
  const version = v?.version?.tag ?? "";
  const extensions = await readExtensions(client, node, options);
  const [schematic, platformSpec, security, hostnameSpec, role, bootId, status] = await Promise.all(
    [
      readSchematic(client, node, version, options, extensions),
      readSpec(
        client,
        node,
        { namespace: "runtime", type: "PlatformMetadatas.talos.dev", id: "platformmetadata" },
        options,
      ),
      readSpec(
        client,
        node,
        { namespace: "runtime", type: "SecurityStates.talos.dev", id: "securitystate" },
        options,
      ),
      client
        .at(node)
        .machine.hostname({}, call)
        .then(
          (r) => r.messages[0]?.hostname ?? "",
          () => "",
        ),
      readRole(client, node, options),
      readBootId(client, node, version, options),
      readMachineStatus(client, node, options),
    ],
  );
  const platform =
    String((platformSpec as Spec | undefined)?.platform ?? "") || v?.platform?.name || "metal";
  return {
    node,
    hostname: hostnameSpec || node,
    role,
    version,
    arch: v?.version?.arch ?? "",
    schematic: schematic.schematic,
    schematicSource: schematic.source,
    platform,
    secureBoot: (security as Spec | undefined)?.secureBoot === true,
    bootedWithUKI: (security as Spec | undefined)?.bootedWithUKI === true,
    extensions: extensions.map((e) => e.name).filter((n) => !VIRTUAL_EXTENSIONS.has(n)),
    bootId,
    stage: status.stage,
    ready: status.ready,
  };
}

/** Reads the facts of several nodes, `concurrency` at once; a node's failure is its result. */
export function readFactsOfNodes(
  client: TalosClient,
  nodes: readonly string[],
  options: InspectOptions & { concurrency: number },
): Promise<NodeResult<NodeFacts>[]> {
  return client.onNodes(
    nodes,
    (node, signal) => readNodeFacts(client, node, { signal, timeoutMs: options.timeoutMs }),
    { concurrency: options.concurrency, signal: options.signal },
  );
}
