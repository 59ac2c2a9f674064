// Version-aware builders for the patches people write most. Each returns plain patch
// documents in the form the target Talos version accepts (the legacy v1alpha1 fields
// where that version still has them, the typed documents where it does not).
import { ConfigPatchError } from "./errors.js";
import { type ConfigPatch, strategicPatch } from "./patch.js";
import { type ConfigVersion, configVersion } from "./versions.js";

/** One patch document as a plain object. */
export type PatchDocument = Record<string, unknown>;

const API = "v1alpha1";

function minor(version: string): number {
  return Number(configVersion(version).split(".")[1]);
}

/** True when the version keeps the field in the legacy v1alpha1 document (1.13 and older). */
function legacyMachineFields(version: string): boolean {
  return minor(version) <= 13;
}

/** True when the version has the typed network and registry documents (1.12 and newer). */
function typedNetworkDocuments(version: string): boolean {
  return minor(version) >= 12;
}

function typed(kind: string, body: Record<string, unknown>): PatchDocument {
  return { apiVersion: API, kind, ...dropUndefined(body) };
}

function dropUndefined(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
}

function legacy(body: Record<string, unknown>): PatchDocument {
  return { version: API, ...body };
}

/** Install disk and installer image. */
export interface InstallOptions {
  /** Device path, e.g. `/dev/sda` (Talos 1.14: a disk selector matching `disk.dev_path`). */
  disk?: string;
  /** Installer image, e.g. `factory.talos.dev/metal-installer/<schematic>:v1.14.0`. */
  image?: string;
  wipe?: boolean;
}

/** Install disk and image: `machine.install` up to 1.13, an `UnattendedInstallConfig` document in 1.14. */
export function installPatch(options: InstallOptions, talosVersion: string): PatchDocument[] {
  if (legacyMachineFields(talosVersion)) {
    return [legacy({ machine: { install: dropUndefined({ ...options }) } })];
  }
  const provisioning = dropUndefined({
    diskSelector: options.disk
      ? { match: `disk.dev_path == ${JSON.stringify(options.disk)}` }
      : undefined,
    wipe: options.wipe,
  });
  return [
    typed("UnattendedInstallConfig", {
      installer: options.image ? { image: options.image } : undefined,
      provisioning: Object.keys(provisioning).length ? provisioning : undefined,
    }),
  ];
}

/**
 * Kernel arguments. Talos 1.12 and newer take them from the boot image (the schematic's
 * `customization.extraKernelArgs`), not from the machine config: this always throws
 * CONFIG_BUILDER_UNSUPPORTED with that advice.
 */
export function kernelArgsPatch(args: readonly string[], talosVersion: string): never {
  const v: ConfigVersion = configVersion(talosVersion);
  throw new ConfigPatchError(
    "CONFIG_BUILDER_UNSUPPORTED",
    `the Talos ${v} machine config has no kernel argument field: put ${JSON.stringify(args)} in the schematic's customization.extraKernelArgs and upgrade to the new installer image`,
  );
}

/** A kernel module to load, with its parameters (`name=value`). */
export interface ConfigKernelModule {
  name: string;
  parameters?: string[];
}

/** Kernel modules: `machine.kernel.modules` up to 1.13, `KernelModuleConfig` documents in 1.14. */
export function kernelModulesPatch(
  modules: readonly ConfigKernelModule[],
  talosVersion: string,
): PatchDocument[] {
  const list = modules.map((m) => dropUndefined({ name: m.name, parameters: m.parameters }));
  if (legacyMachineFields(talosVersion))
    return [legacy({ machine: { kernel: { modules: list } } })];
  return list.map((m) => typed("KernelModuleConfig", m));
}

/** Sysctls: `machine.sysctls` up to 1.13, a `SysctlConfig` document in 1.14. */
export function sysctlsPatch(
  sysctls: Readonly<Record<string, string>>,
  talosVersion: string,
): PatchDocument[] {
  if (legacyMachineFields(talosVersion)) return [legacy({ machine: { sysctls: { ...sysctls } } })];
  return [typed("SysctlConfig", { params: { ...sysctls } })];
}

/** Kubelet settings: extra command-line flags, KubeletConfiguration fields, cluster DNS. */
export interface KubeletSettings {
  /** Kubelet image, e.g. `ghcr.io/siderolabs/kubelet:v1.35.0`. */
  image?: string;
  extraArgs?: Record<string, string>;
  /** Fields of the kubelet's own KubeletConfiguration, e.g. `{ maxPods: 250 }`. */
  extraConfig?: Record<string, unknown>;
  clusterDNS?: string[];
}

/**
 * Kubelet settings: `machine.kubelet` up to 1.13, a `KubeletConfig` document in 1.14
 * (where the KubeletConfiguration fields go under `config`).
 */
export function kubeletPatch(settings: KubeletSettings, talosVersion: string): PatchDocument[] {
  const extraArgs = settings.extraArgs ? { ...settings.extraArgs } : undefined;
  const extraConfig = settings.extraConfig ? { ...settings.extraConfig } : undefined;
  const clusterDNS = settings.clusterDNS ? [...settings.clusterDNS] : undefined;
  const image = settings.image;
  if (legacyMachineFields(talosVersion)) {
    return [
      legacy({
        machine: { kubelet: dropUndefined({ image, extraArgs, extraConfig, clusterDNS }) },
      }),
    ];
  }
  return [typed("KubeletConfig", { image, extraArgs, config: extraConfig, clusterDNS })];
}

/** Kubernetes node metadata set by the kubelet. Taints are `key: value:Effect`. */
export interface NodeMetadata {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  taints?: Record<string, string>;
}

/** Node labels, annotations and taints: `machine.node*` up to 1.13, `KubeNodeConfig` in 1.14. */
export function nodeMetadataPatch(meta: NodeMetadata, talosVersion: string): PatchDocument[] {
  if (legacyMachineFields(talosVersion)) {
    return [
      legacy({
        machine: dropUndefined({
          nodeLabels: meta.labels,
          nodeAnnotations: meta.annotations,
          nodeTaints: meta.taints,
        }),
      }),
    ];
  }
  return [
    typed("KubeNodeConfig", {
      labels: meta.labels,
      annotations: meta.annotations,
      taints: meta.taints,
    }),
  ];
}

/** Addresses, routes and MTU shared by links, VLANs and bonds. */
export interface LinkSettings {
  addresses?: string[];
  routes?: { destination?: string; gateway?: string; metric?: number }[];
  mtu?: number;
  up?: boolean;
}

function isDefaultRoute(destination: string | undefined): boolean {
  return destination === "0.0.0.0/0" || destination === "::/0";
}

/** The v1alpha1 form of link settings (`machine.network.interfaces[]`), before 1.12. */
function legacyLinkBody(s: LinkSettings): Record<string, unknown> {
  return dropUndefined({
    addresses: s.addresses ? [...s.addresses] : undefined,
    routes: s.routes?.map((r) =>
      dropUndefined({
        network: r.destination ?? "0.0.0.0/0",
        gateway: r.gateway,
        metric: r.metric,
      }),
    ),
    mtu: s.mtu,
  });
}

function legacyInterfaces(interfaces: Record<string, unknown>[]): PatchDocument {
  return legacy({ machine: { network: { interfaces } } });
}

function linkBody(s: LinkSettings): Record<string, unknown> {
  return {
    up: s.up,
    mtu: s.mtu,
    addresses: s.addresses?.map((address) => ({ address })),
    // A default route has no destination (1.14 refuses 0.0.0.0/0 as one).
    routes: s.routes?.map((r) =>
      dropUndefined({
        ...r,
        destination: isDefaultRoute(r.destination) ? undefined : r.destination,
      }),
    ),
  };
}

/** A physical network interface: a `LinkConfig` document from 1.12, `machine.network.interfaces` before. */
export function linkPatch(
  name: string,
  settings: LinkSettings,
  talosVersion: string,
): PatchDocument[] {
  configVersion(talosVersion);
  if (!typedNetworkDocuments(talosVersion))
    return [legacyInterfaces([{ interface: name, ...legacyLinkBody(settings) }])];
  return [typed("LinkConfig", { name, ...linkBody(settings) })];
}

/**
 * A VLAN on a parent link: a `VLANConfig` document named `<parent>.<vlanId>` unless named
 * (1.12 and newer); before 1.12 a `vlans` entry of the parent in `machine.network.interfaces`.
 */
export function vlanPatch(
  vlan: LinkSettings & { parent: string; vlanId: number; name?: string },
  talosVersion: string,
): PatchDocument[] {
  configVersion(talosVersion);
  if (!typedNetworkDocuments(talosVersion)) {
    return [
      legacyInterfaces([
        { interface: vlan.parent, vlans: [{ vlanId: vlan.vlanId, ...legacyLinkBody(vlan) }] },
      ]),
    ];
  }
  return [
    typed("VLANConfig", {
      name: vlan.name ?? `${vlan.parent}.${vlan.vlanId}`,
      vlanID: vlan.vlanId,
      parent: vlan.parent,
      ...linkBody(vlan),
    }),
  ];
}

/** Bond modes Talos accepts. */
export type BondMode =
  | "balance-rr"
  | "active-backup"
  | "balance-xor"
  | "broadcast"
  | "802.3ad"
  | "balance-tlb"
  | "balance-alb";

/** A bond of links: a `BondConfig` document from 1.12, a bond interface in `machine.network.interfaces` before. */
export function bondPatch(
  bond: LinkSettings & { name: string; links: string[]; mode: BondMode; miimon?: number },
  talosVersion: string,
): PatchDocument[] {
  configVersion(talosVersion);
  if (!typedNetworkDocuments(talosVersion)) {
    return [
      legacyInterfaces([
        {
          interface: bond.name,
          bond: dropUndefined({
            interfaces: [...bond.links],
            mode: bond.mode,
            miimon: bond.miimon,
          }),
          ...legacyLinkBody(bond),
        },
      ]),
    ];
  }
  return [
    typed("BondConfig", {
      name: bond.name,
      links: bond.links,
      bondMode: bond.mode,
      miimon: bond.miimon,
      ...linkBody(bond),
    }),
  ];
}

/** Mirrors of an image registry: a `RegistryMirrorConfig` document from 1.12, `machine.registries.mirrors` before. */
export function registryMirrorPatch(
  registry: string,
  endpoints: readonly string[],
  talosVersion: string,
  options: { skipFallback?: boolean } = {},
): PatchDocument[] {
  configVersion(talosVersion);
  if (!typedNetworkDocuments(talosVersion)) {
    const mirror = dropUndefined({ endpoints: [...endpoints], skipFallback: options.skipFallback });
    return [legacy({ machine: { registries: { mirrors: { [registry]: mirror } } } })];
  }
  return [
    typed("RegistryMirrorConfig", {
      name: registry,
      endpoints: endpoints.map((url) => ({ url })),
      skipFallback: options.skipFallback,
    }),
  ];
}

/** Credentials for a registry host: a `RegistryAuthConfig` document from 1.12, `machine.registries.config` before. */
export function registryAuthPatch(
  registry: string,
  auth: { username?: string; password?: string; auth?: string; identityToken?: string },
  talosVersion: string,
): PatchDocument[] {
  configVersion(talosVersion);
  if (!typedNetworkDocuments(talosVersion)) {
    const config = { auth: dropUndefined({ ...auth }) };
    return [legacy({ machine: { registries: { config: { [registry]: config } } } })];
  }
  return [typed("RegistryAuthConfig", { name: registry, ...auth })];
}

/** Configuration of a system extension service: an `ExtensionServiceConfig` document. */
export function extensionServicePatch(
  name: string,
  config: { configFiles?: { content: string; mountPath: string }[]; environment?: string[] },
  talosVersion: string,
): PatchDocument[] {
  configVersion(talosVersion);
  return [
    typed("ExtensionServiceConfig", {
      name,
      configFiles: config.configFiles,
      environment: config.environment,
    }),
  ];
}

/** A user volume (mounted under /var/mnt/<name>): a `UserVolumeConfig` document. */
export function userVolumePatch(
  name: string,
  volume: {
    diskSelector?: string;
    minSize?: string;
    maxSize?: string;
    grow?: boolean;
    filesystem?: "ext4" | "xfs";
  },
  talosVersion: string,
): PatchDocument[] {
  configVersion(talosVersion);
  const provisioning = dropUndefined({
    diskSelector: volume.diskSelector ? { match: volume.diskSelector } : undefined,
    minSize: volume.minSize,
    maxSize: volume.maxSize,
    grow: volume.grow,
  });
  return [
    typed("UserVolumeConfig", {
      name,
      provisioning: Object.keys(provisioning).length ? provisioning : undefined,
      filesystem: volume.filesystem ? { type: volume.filesystem } : undefined,
    }),
  ];
}

/**
 * Extra certificate SANs: `machine.certSANs` (the Talos API) in every version, and with
 * `apiServer: true` the Kubernetes API server's too (`cluster.apiServer.certSANs` up to
 * 1.13, `KubeAPIServerConfig.certExtraSANs` in 1.14, where a complete document also
 * carries the API server `image`: pass `apiServerImage`, or the patch is partial).
 */
export function certSANsPatch(
  sans: readonly string[],
  talosVersion: string,
  options: { apiServer?: boolean; apiServerImage?: string } = {},
): PatchDocument[] {
  const list = [...sans];
  if (legacyMachineFields(talosVersion)) {
    return [
      legacy({
        machine: { certSANs: list },
        ...(options.apiServer ? { cluster: { apiServer: { certSANs: [...list] } } } : {}),
      }),
    ];
  }
  const docs = [legacy({ machine: { certSANs: list } })];
  if (options.apiServer) {
    docs.push(
      typed("KubeAPIServerConfig", { image: options.apiServerImage, certExtraSANs: [...list] }),
    );
  }
  return docs;
}

/**
 * The cluster endpoint: `cluster.controlPlane.endpoint` up to 1.13, `KubeClusterConfig`
 * in 1.14 (where a complete document also names the cluster: pass `clusterName` to get
 * a document that validates on its own; without it, the patch is partial).
 */
export function clusterEndpointPatch(
  endpoint: string,
  talosVersion: string,
  options: { clusterName?: string } = {},
): PatchDocument[] {
  if (legacyMachineFields(talosVersion)) {
    return [legacy({ cluster: { controlPlane: { endpoint } } })];
  }
  return [typed("KubeClusterConfig", { clusterName: options.clusterName, endpoint })];
}

/** GPU vendors with runtime settings. */
export type GpuVendor = "nvidia" | "amd";

/**
 * Runtime settings a GPU needs besides its system extensions: NVIDIA's kernel modules
 * (nvidia, nvidia_uvm, nvidia_drm, nvidia_modeset) and `net.core.bpf_jit_harden=1`;
 * AMD's amdgpu module.
 */
export function gpuRuntimePatch(vendor: GpuVendor, talosVersion: string): PatchDocument[] {
  if (vendor === "amd") return kernelModulesPatch([{ name: "amdgpu" }], talosVersion);
  return mergePatchDocuments([
    ...kernelModulesPatch(
      ["nvidia", "nvidia_uvm", "nvidia_drm", "nvidia_modeset"].map((name) => ({ name })),
      talosVersion,
    ),
    ...sysctlsPatch({ "net.core.bpf_jit_harden": "1" }, talosVersion),
  ]);
}

/**
 * Fields of the v1alpha1 `machine` section that Talos 1.14 moved to documents of their
 * own. Left in a 1.14 patch they clash with the documents a 1.14 config already has.
 */
const MOVED_MACHINE_FIELDS_1_14 = [
  "controlPlane",
  "kubelet",
  "pods",
  "network",
  "disks",
  "install",
  "files",
  "env",
  "time",
  "sysctls",
  "sysfs",
  "registries",
  "systemDiskEncryption",
  "udev",
  "kernel",
  "baseRuntimeSpecOverrides",
  "nodeLabels",
  "nodeAnnotations",
  "nodeTaints",
] as const;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function stringMap(v: unknown): Record<string, string> | undefined {
  return isRecord(v) ? (v as Record<string, string>) : undefined;
}

/** What {@link machinePatchDocuments} made of a v1alpha1 patch. */
export interface MachinePatchDocuments {
  documents: PatchDocument[];
  /** Paths (`machine.kubelet.extraMounts`) the target version has no place for. */
  leftOut: string[];
}

/**
 * A strategic-merge patch of the v1alpha1 document (`{ machine: {...}, cluster: {...} }`)
 * in the form the target version accepts: as it is up to 1.13; on 1.14 the machine
 * fields that moved become their documents (kernel modules, sysctls, kubelet settings,
 * node labels/annotations/taints, install disk and image), and moved fields with no
 * equivalent are left out and named in `leftOut`.
 */
export function machinePatchDocuments(
  patch: Readonly<Record<string, unknown>>,
  talosVersion: string,
): MachinePatchDocuments {
  const { version: _version, ...body } = patch;
  if (legacyMachineFields(talosVersion)) return { documents: [legacy(body)], leftOut: [] };
  const documents: PatchDocument[] = [];
  const leftOut: string[] = [];
  const machine: Record<string, unknown> = isRecord(body.machine) ? { ...body.machine } : {};
  const take = (key: string): unknown => {
    const value = machine[key];
    delete machine[key];
    return value;
  };
  const rest = (what: string, value: unknown, used: readonly string[]) => {
    if (!isRecord(value)) return;
    for (const key of Object.keys(value))
      if (!used.includes(key)) leftOut.push(`machine.${what}.${key}`);
  };

  const kernel = take("kernel");
  if (isRecord(kernel) && Array.isArray(kernel.modules)) {
    documents.push(...kernelModulesPatch(kernel.modules as ConfigKernelModule[], talosVersion));
  }
  rest("kernel", kernel, ["modules"]);
  const sysctls = stringMap(take("sysctls"));
  if (sysctls && Object.keys(sysctls).length)
    documents.push(...sysctlsPatch(sysctls, talosVersion));
  const kubelet = take("kubelet");
  if (isRecord(kubelet)) {
    const settings = dropUndefined({
      image: typeof kubelet.image === "string" ? kubelet.image : undefined,
      extraArgs: stringMap(kubelet.extraArgs),
      extraConfig: isRecord(kubelet.extraConfig) ? kubelet.extraConfig : undefined,
      clusterDNS: Array.isArray(kubelet.clusterDNS) ? (kubelet.clusterDNS as string[]) : undefined,
    });
    if (Object.keys(settings).length) documents.push(...kubeletPatch(settings, talosVersion));
  }
  rest("kubelet", kubelet, ["image", "extraArgs", "extraConfig", "clusterDNS"]);
  const meta = dropUndefined({
    labels: stringMap(take("nodeLabels")),
    annotations: stringMap(take("nodeAnnotations")),
    taints: stringMap(take("nodeTaints")),
  });
  if (Object.keys(meta).length) documents.push(...nodeMetadataPatch(meta, talosVersion));
  const install = take("install");
  if (isRecord(install)) {
    const options = dropUndefined({
      disk: typeof install.disk === "string" ? install.disk : undefined,
      image: typeof install.image === "string" ? install.image : undefined,
      wipe: typeof install.wipe === "boolean" ? install.wipe : undefined,
    });
    if (Object.keys(options).length) documents.push(...installPatch(options, talosVersion));
  }
  rest("install", install, ["disk", "image", "wipe"]);
  for (const key of MOVED_MACHINE_FIELDS_1_14) {
    if (!(key in machine)) continue;
    take(key);
    leftOut.push(`machine.${key}`);
  }

  const remaining: Record<string, unknown> = { ...body };
  if (Object.keys(machine).length) remaining.machine = machine;
  else delete remaining.machine;
  return {
    documents: Object.keys(remaining).length ? [legacy(remaining), ...documents] : documents,
    leftOut,
  };
}

function identity(doc: PatchDocument): string {
  return doc.kind === undefined ? "" : `${String(doc.kind)}/${String(doc.name ?? "")}`;
}

function mergeValues(a: unknown, b: unknown): unknown {
  if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
  if (isRecord(a) && isRecord(b)) {
    const out: Record<string, unknown> = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = k in out ? mergeValues(out[k], v) : v;
    return out;
  }
  return b;
}

/**
 * Builder output of several builders as one patch: Talos refuses a patch that holds
 * the same document twice, so documents of one identity (the v1alpha1 document, or one
 * kind and name) are merged into one, in order, lists appended. The v1alpha1 document
 * comes first.
 */
export function mergePatchDocuments(documents: readonly PatchDocument[]): PatchDocument[] {
  const merged = new Map<string, PatchDocument>();
  for (const doc of documents) {
    const key = identity(doc);
    const seen = merged.get(key);
    merged.set(key, seen ? (mergeValues(seen, doc) as PatchDocument) : doc);
  }
  const main = merged.get("");
  merged.delete("");
  return main ? [main, ...merged.values()] : [...merged.values()];
}

/** Turns builder output (of one builder or several) into a patch for {@link patchConfig}. */
export function builtPatch(documents: readonly PatchDocument[], source = "builder"): ConfigPatch {
  return strategicPatch(mergePatchDocuments(documents), source);
}
