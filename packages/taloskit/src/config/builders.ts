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
  /** Device path, e.g. `/dev/sda` (Talos 1.14: turned into a disk selector on `dev_path`). */
  disk?: string;
  /** Installer image, e.g. `factory.talos.dev/metal-installer/<schematic>:v1.14.0`. */
  image?: string;
  wipe?: boolean;
}

/** Install disk and image: `machine.install` up to 1.13, an `UnattendedInstall` document in 1.14. */
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
    typed("UnattendedInstall", {
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

function linkBody(s: LinkSettings): Record<string, unknown> {
  return {
    up: s.up,
    mtu: s.mtu,
    addresses: s.addresses?.map((address) => ({ address })),
    routes: s.routes?.map((r) => dropUndefined({ ...r })),
  };
}

/** A physical network interface: a `LinkConfig` document (all supported versions). */
export function linkPatch(
  name: string,
  settings: LinkSettings,
  talosVersion: string,
): PatchDocument[] {
  configVersion(talosVersion);
  return [typed("LinkConfig", { name, ...linkBody(settings) })];
}

/** A VLAN on a parent link: a `VLANConfig` document named `<parent>.<vlanId>` unless named. */
export function vlanPatch(
  vlan: LinkSettings & { parent: string; vlanId: number; name?: string },
  talosVersion: string,
): PatchDocument[] {
  configVersion(talosVersion);
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

/** A bond of links: a `BondConfig` document. */
export function bondPatch(
  bond: LinkSettings & { name: string; links: string[]; mode: BondMode; miimon?: number },
  talosVersion: string,
): PatchDocument[] {
  configVersion(talosVersion);
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

/** Mirrors of an image registry: a `RegistryMirrorConfig` document. */
export function registryMirrorPatch(
  registry: string,
  endpoints: readonly string[],
  talosVersion: string,
  options: { skipFallback?: boolean } = {},
): PatchDocument[] {
  configVersion(talosVersion);
  return [
    typed("RegistryMirrorConfig", {
      name: registry,
      endpoints: endpoints.map((url) => ({ url })),
      skipFallback: options.skipFallback,
    }),
  ];
}

/** Credentials for a registry host: a `RegistryAuthConfig` document. */
export function registryAuthPatch(
  registry: string,
  auth: { username?: string; password?: string; auth?: string; identityToken?: string },
  talosVersion: string,
): PatchDocument[] {
  configVersion(talosVersion);
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
  return [
    ...kernelModulesPatch(
      ["nvidia", "nvidia_uvm", "nvidia_drm", "nvidia_modeset"].map((name) => ({ name })),
      talosVersion,
    ),
    ...sysctlsPatch({ "net.core.bpf_jit_harden": "1" }, talosVersion),
  ];
}

/** Turns builder output into a patch for {@link patchConfig}. */
export function builtPatch(documents: readonly PatchDocument[], source = "builder"): ConfigPatch {
  return strategicPatch(documents, source);
}
