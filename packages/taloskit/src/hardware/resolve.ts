// Hardware resolution: from what a machine has to the schematic (extensions,
// kernel arguments, overlay), platform and config patches that it needs for a
// target Talos version, each decision with the rule and the facts behind it.
import {
  atLeastMinor,
  compareVersions,
  completeVersion,
  messageOf,
  minorOf,
  TalosError,
} from "@taloskit/core";
import {
  ARCH_ONLY,
  assetPaths,
  assetUrls,
  type Catalog,
  defaultPxeUrl,
  imageUrl,
  installerImage,
  LEGACY_EXTENSIONS,
  OFFLINE_MINORS,
  offlineCatalog,
  schematicId,
} from "@taloskit/factory";
import {
  kernelModulesPatch,
  machinePatchDocuments,
  mergePatchDocuments,
  type PatchDocument,
  sysctlsPatch,
} from "../config/builders.js";
import { validateDocuments } from "../config/validate.js";
import { CONFIG_VERSIONS } from "../config/versions.js";
import type { Arch, MachineInventory, PciDevice } from "./inventory.js";
import { describeDevice, evaluate } from "./match.js";
import {
  defaultRules,
  type HardwareRule,
  type KernelModule,
  type RuleCondition,
  RuleError,
} from "./rules.js";

export type NvidiaBranch = "lts" | "production";

export interface ResolveOptions {
  /** Target Talos version, `v1.14.0` or `1.14.0`. */
  talosVersion: string;
  /** Target arch; defaults to the machine's, then amd64. */
  arch?: Arch;
  /**
   * Platform override (`metal`, `aws`, `vmware`, ...); defaults to the platform
   * a live node runs, then to what the rules choose, then metal.
   */
  platform?: string;
  /** SecureBoot installer and media; defaults to the state a live node booted in, then false. */
  secureBoot?: boolean;
  /** NVIDIA driver branch; LTS unless asked otherwise. */
  nvidiaBranch?: NvidiaBranch;
  /** The machine's memory in MiB when the inventory lacks it (lspci does not tell it). */
  memoryMiB?: number;
  /** Workloads the machine must serve (`longhorn`, `zfs`, `drbd`, `tailscale`, ...). */
  intents?: string[];
  /** The rule table; defaults to {@link defaultRules}. Pass `[...defaultRules, ...mine]` to extend it. */
  rules?: HardwareRule[];
  extraExtensions?: string[];
  extraKernelArgs?: string[];
  /** Says whether an extension exists for a Talos version; overrides the catalog check when given. */
  extensionAvailable?: (name: string, talosVersion: string) => boolean;
  /**
   * The catalog extension and overlay names are checked against: by default
   * the offline catalog of the target version (when taloskit has one), `null`
   * to check nothing, or a live catalog read from a factory.
   */
  catalog?: Catalog | null;
  /** Image Factory base URL for the installer image and asset URLs (default https://factory.talos.dev). */
  factory?: string;
  /** Base URL of PXE scripts (default: pxe.factory.talos.dev for the public factory, else the factory). */
  pxeFactory?: string;
}

/** Where to get boot media for a plan: the links the factory offers for its platform and overlay. */
export interface BootAssets {
  iso?: string;
  /** Disk image (`metal-amd64.raw.zst`; the raw image SBC overlays boot from). */
  diskImage?: string;
  pxe?: string;
}

export const DEFAULT_FACTORY = "https://factory.talos.dev";

export interface ResolutionReason {
  rule: string;
  summary: string;
  /** The facts that triggered the rule. */
  because: string[];
  extensions: string[];
  kernelArgs: string[];
  overlay?: string;
  platform?: string;
  kernelModules: string[];
  sysctls: string[];
}

/** A schematic in the Image Factory's own schema. */
export interface ResolvedSchematic {
  overlay?: { image: string; name: string; options?: Record<string, unknown> };
  customization: {
    extraKernelArgs?: string[];
    systemExtensions?: { officialExtensions: string[] };
  };
}

export interface HardwarePlan {
  machine?: string;
  talosVersion: string;
  arch: Arch;
  platform: string;
  secureBoot: boolean;
  schematic: ResolvedSchematic;
  /** The schematic's Image Factory ID, computed offline. */
  id: string;
  kernelModules: KernelModule[];
  sysctls: Record<string, string>;
  /** Strategic-merge patches of the v1alpha1 document, before version-specific rendering. */
  machinePatches: Record<string, unknown>[];
  /** Installer image for installs and upgrades: `<factory>/<platform>-installer[-secureboot]/<id>:<version>`. */
  installer?: string;
  /** Boot media URLs. */
  assets: BootAssets;
  /**
   * Config patch documents in the form the target version accepts: kernel
   * modules, sysctls and the rules' v1alpha1 patches (`KernelModuleConfig` and
   * `SysctlConfig` documents on 1.14, `machine.kernel.modules` and
   * `machine.sysctls` before).
   */
  patches: PatchDocument[];
  reasons: ResolutionReason[];
  warnings: string[];
}

/**
 * Raised for an option of planHardware() that cannot be used; `field` names
 * the option. A {@link TalosError}.
 */
export class HardwareOptionError extends TalosError {
  override readonly name: string = "HardwareOptionError";
  /** Stable, machine-readable code. */
  declare readonly code: "HARDWARE_OPTION_INVALID";
  constructor(
    readonly field: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super("HARDWARE_OPTION_INVALID", message, options);
  }
}

/**
 * The factory's tag for a version a rule or a flag may write without its patch:
 * `1.14` and `v1.14` become `v1.14.0`, `1.12.3-beta.1` becomes `v1.12.3-beta.1`.
 * Throws an INVALID_ARGUMENT TalosError for anything else. @taloskit/core's
 * completeVersion, kept under its earlier name.
 */
export function normalizeVersion(version: string): string {
  return completeVersion(version);
}

/** The target version of the options, as a tag; HardwareOptionError naming talosVersion. */
function targetVersion(options: ResolveOptions): string {
  try {
    return completeVersion(options.talosVersion, "talosVersion");
  } catch (error) {
    throw new HardwareOptionError("talosVersion", messageOf(error), { cause: error });
  }
}

/** The oldest Talos version a rule applies to, as a tag; RuleError naming the rule. */
function ruleMinimum(rule: HardwareRule): string | undefined {
  const min = rule.talos?.min;
  if (!min) return undefined;
  try {
    return completeVersion(min, "talos.min");
  } catch (error) {
    throw new RuleError(`rule "${rule.id}": ${messageOf(error)}`);
  }
}

function intentsOf(c: RuleCondition): string[] {
  if ("intent" in c) return [c.intent];
  if ("all" in c) return c.all.flatMap(intentsOf);
  if ("any" in c) return c.any.flatMap(intentsOf);
  if ("not" in c) return intentsOf(c.not);
  return [];
}

const DISPLAY_OR_ACCELERATOR = new Set(["0x02", "0x03", "0x0b", "0x0d", "0x12"]);

/** Devices that commonly need a driver or firmware but that no rule explains. */
function unexplainedDevices(
  machine: MachineInventory,
  matchedRules: Set<string>,
  rules: HardwareRule[],
): PciDevice[] {
  const explained = new Set<PciDevice>();
  for (const rule of rules) {
    if (!matchedRules.has(rule.id)) continue;
    for (const device of machine.pciDevices) {
      // The device alone, without the machine's other facts: a hypervisor's SMBIOS
      // name must not explain a passed-through card that no PCI condition names.
      const alone = { ...machine, cpu: {}, system: {}, board: undefined, pciDevices: [device] };
      if (evaluate(rule.when, alone, new Set()).matched) explained.add(device);
    }
  }
  return machine.pciDevices.filter(
    (d) => DISPLAY_OR_ACCELERATOR.has(d.classId) && !explained.has(d),
  );
}

/**
 * Works out what a machine needs for a target Talos version. Pure and
 * synchronous: the inventory comes from a source (lspci, a live node, NFD, JSON).
 */
export function planHardware(machine: MachineInventory, options: ResolveOptions): HardwarePlan {
  const talosVersion = targetVersion(options);
  const rules = options.rules ?? defaultRules;
  const intents = new Set((options.intents ?? []).map((i) => i.toLowerCase()));
  const arch = options.arch ?? machine.cpu.arch ?? "amd64";
  const warnings: string[] = [];
  const reasons: ResolutionReason[] = [];
  const matchedRules = new Set<string>();
  const applied: { rule: HardwareRule; because: string[] }[] = [];

  if (machine.cpu.arch && options.arch && machine.cpu.arch !== options.arch) {
    warnings.push(`the machine is ${machine.cpu.arch} but the target arch is ${options.arch}`);
  }
  for (const rule of rules) {
    const result = evaluate(rule.when, machine, intents);
    if (!result.matched) continue;
    matchedRules.add(rule.id);
    const min = ruleMinimum(rule);
    if (min && compareVersions(talosVersion, min) < 0) {
      warnings.push(
        `${rule.id}: ${rule.summary}, but Talos ${talosVersion} is older than ${min} (${result.evidence.join("; ") || "matched"})`,
      );
      continue;
    }
    applied.push({ rule, because: result.evidence });
    warnings.push(...(rule.warnings ?? []));
  }
  const servedIntents = new Set(rules.flatMap((r) => intentsOf(r.when)));
  for (const intent of intents) {
    if (!servedIntents.has(intent)) warnings.push(`unknown intent "${intent}": no rule serves it`);
  }

  const branch = resolveNvidiaBranch(applied, options.nvidiaBranch ?? "lts", warnings);
  const catalog =
    options.catalog === undefined ? defaultCatalog(talosVersion, warnings) : options.catalog;
  const known = catalog ? new Set(catalog.extensions.map((e) => e.name)) : undefined;
  /** The name to use for an extension on the target version, or undefined when it has none. */
  const checkExtension = (name: string, origin: string): string | undefined => {
    if (options.extensionAvailable) {
      if (options.extensionAvailable(name, talosVersion)) return name;
      warnings.push(`${origin}: extension ${name} does not exist for Talos ${talosVersion}`);
      return undefined;
    }
    if (!known || known.has(`siderolabs/${name}`)) return name;
    const legacy = LEGACY_EXTENSIONS[`siderolabs/${name}`];
    if (legacy && known.has(legacy.replacement)) {
      const replacement = legacy.replacement.replace(/^siderolabs\//, "");
      warnings.push(
        `${origin}: extension ${name} was replaced by ${replacement} in Talos ${legacy.since}: using ${replacement}`,
      );
      return replacement;
    }
    // An older Talos knows the extension by its earlier name (i915-ucode before i915).
    const earlier = Object.entries(LEGACY_EXTENSIONS).find(
      ([old, entry]) => entry.replacement === `siderolabs/${name}` && known.has(old),
    );
    if (earlier) {
      const old = earlier[0].replace(/^siderolabs\//, "");
      warnings.push(
        `${origin}: Talos ${talosVersion} names extension ${name} ${old} (renamed in ${earlier[1].since}): using ${old}`,
      );
      return old;
    }
    warnings.push(`${origin}: extension ${name} does not exist for Talos ${talosVersion}`);
    return undefined;
  };
  const extensions = new Set<string>();
  const kernelArgs: string[] = [];
  const kernelModules: KernelModule[] = [];
  const sysctls: Record<string, string> = {};
  const machinePatches: Record<string, unknown>[] = [];
  const patchOrigins: string[] = [];
  let overlay: HardwarePlan["schematic"]["overlay"];
  let platform: string | undefined;

  const memoryMiB = machine.memoryMiB ?? options.memoryMiB;
  if (memoryMiB !== undefined && !(Number.isInteger(memoryMiB) && memoryMiB > 0)) {
    throw new HardwareOptionError(
      "memoryMiB",
      `memoryMiB must be a positive whole number of MiB, not ${memoryMiB}`,
    );
  }
  for (const { rule, because: matched } of applied) {
    let because = matched;
    let ruleArgs = rule.kernelArgs ?? [];
    if (rule.unifiedMemory) {
      const sized = unifiedMemoryArgs(memoryMiB);
      if ("warning" in sized) warnings.push(`${rule.id}: ${sized.warning}`);
      else {
        ruleArgs = [...ruleArgs, ...sized.args];
        because = [...because, sized.arithmetic];
      }
    }
    const ruleExtensions = (rule.extensions ?? []).map((e) => e.replace("{nvidia}", branch));
    const available = ruleExtensions
      .map((name) => checkExtension(name, rule.id))
      .filter((name): name is string => name !== undefined);
    for (const e of available) extensions.add(e);
    for (const arg of ruleArgs) if (!kernelArgs.includes(arg)) kernelArgs.push(arg);
    for (const m of rule.kernelModules ?? [])
      if (!kernelModules.some((k) => k.name === m.name)) kernelModules.push(m);
    Object.assign(sysctls, rule.sysctls);
    for (const patch of rule.machinePatches ?? []) {
      machinePatches.push(patch);
      patchOrigins.push(rule.id);
    }
    if (rule.overlay) {
      if (overlay && overlay.name !== rule.overlay.name) {
        warnings.push(
          `${rule.id}: overlay ${rule.overlay.name} conflicts with ${overlay.name}; keeping ${overlay.name}`,
        );
      } else overlay = rule.overlay;
    }
    if (rule.platform && !platform) platform = rule.platform;
    if (rule.builtIn) continue;
    reasons.push({
      rule: rule.id,
      summary: rule.summary,
      because,
      extensions: available,
      kernelArgs: ruleArgs,
      overlay: rule.overlay?.name,
      platform: rule.platform,
      kernelModules: (rule.kernelModules ?? []).map((m) => m.name),
      sysctls: Object.keys(rule.sysctls ?? {}),
    });
  }
  for (const e of options.extraExtensions ?? []) {
    const name = checkExtension(e.replace(/^siderolabs\//, ""), "extra extension");
    if (name) extensions.add(name);
  }
  if (overlay && catalog && !catalog.overlays.some((o) => o.name === overlay?.name)) {
    warnings.push(
      `overlay ${overlay.name} is not in the catalog of Talos ${talosVersion}: the schematic has no overlay`,
    );
    overlay = undefined;
  }
  for (const arg of options.extraKernelArgs ?? [])
    if (!kernelArgs.includes(arg)) kernelArgs.push(arg);

  for (const device of unexplainedDevices(machine, matchedRules, rules)) {
    warnings.push(
      `no rule for ${describeDevice(device)}: it may need a driver or firmware extension`,
    );
  }
  if (machine.partialPciIds) {
    warnings.push(
      "the inventory has no PCI device ids (NFD labels): GPU generations could not be told apart",
    );
  }
  if (!overlay && arch === "arm64" && !machine.board && !machine.system.productName) {
    warnings.push(
      "arm64 machine without a board model: no overlay chosen (read the node with an os:admin client, which can read /proc/device-tree, or give board.model)",
    );
  }
  if (overlay && arch !== "arm64")
    warnings.push(`overlay ${overlay.name} is for arm64 boards, but the target arch is ${arch}`);
  // The factory cannot build an extension for an arch it has no content for.
  for (const name of [...extensions]) {
    const only = ARCH_ONLY[`siderolabs/${name}`];
    if (only && only !== arch) {
      extensions.delete(name);
      warnings.push(`${name} has content for ${only} only: left out of the ${arch} schematic`);
    }
  }

  const officialExtensions = [...extensions].map((e) => `siderolabs/${e}`).sort();
  const schematic: ResolvedSchematic = { customization: {} };
  if (overlay) schematic.overlay = overlay;
  if (kernelArgs.length) schematic.customization.extraKernelArgs = kernelArgs;
  if (officialExtensions.length) schematic.customization.systemExtensions = { officialExtensions };

  const id = schematicId(schematic);
  // A live node's platform and SecureBoot state are facts its installer must keep.
  const runningPlatform = machine.running?.platform;
  if (!options.platform && runningPlatform && platform && platform !== runningPlatform) {
    warnings.push(
      `the node runs the ${runningPlatform} platform where the rules would choose ${platform}: keeping ${runningPlatform}`,
    );
  }
  const finalPlatform = options.platform ?? runningPlatform ?? platform ?? "metal";
  const secureBoot = options.secureBoot ?? machine.running?.secureBoot ?? false;
  const target = {
    schematicId: id,
    version: talosVersion,
    arch,
    platform: finalPlatform,
    secureBoot,
  };
  const factory = options.factory ?? DEFAULT_FACTORY;
  let installer: string | undefined;
  let assets: BootAssets = {};
  try {
    installer = installerImage(factory, target);
    assets = bootAssets(factory, options.pxeFactory ?? defaultPxeUrl(factory), target, !!overlay);
  } catch (error) {
    warnings.push(`no installer or boot assets: ${messageOf(error)}`);
  }

  return {
    machine: machine.name,
    talosVersion,
    arch,
    platform: finalPlatform,
    secureBoot,
    schematic,
    id,
    kernelModules,
    sysctls,
    machinePatches,
    installer,
    assets,
    patches: renderPatches(
      kernelModules,
      sysctls,
      machinePatches.map((patch, i) => ({ patch, rule: patchOrigins[i] ?? "rule" })),
      talosVersion,
      warnings,
    ),
    reasons,
    warnings: [...new Set(warnings)],
  };
}

/** Memory kept for the host (kernel, Talos services, kubelet, pods' CPU side) out of the GPU's reach. */
const HOST_RESERVE_MIB = 4096;
/** Pages of 4 KiB in a MiB: the unit of the ttm limits. */
const PAGES_PER_MIB = 256;

/**
 * The kernel arguments that let an APU's GPU map all but {@link HOST_RESERVE_MIB}
 * of the machine's memory as GTT, as Strix Halo owners set them: amdgpu.gttsize
 * in MiB, and ttm.pages_limit and ttm.page_pool_size in 4 KiB pages (the ttm
 * limits cap what gttsize asks for; newer kernels read only them). 128 GiB gives
 * amdgpu.gttsize=126976 ttm.pages_limit=32505856.
 */
export function unifiedMemoryArgs(
  memoryMiB: number | undefined,
): { args: string[]; arithmetic: string } | { warning: string } {
  if (memoryMiB === undefined) {
    return {
      warning:
        "the inventory has no memory size, so the GPU memory (GTT) kernel arguments were not set: give the memory size (memoryMiB in the inventory, --memory-gib on the CLI)",
    };
  }
  const gttMiB = memoryMiB - HOST_RESERVE_MIB;
  if (gttMiB < HOST_RESERVE_MIB) {
    return {
      warning: `${memoryMiB} MiB of memory is too little to give the GPU more than the default GTT; no kernel arguments set`,
    };
  }
  const pages = gttMiB * PAGES_PER_MIB;
  return {
    args: [`amdgpu.gttsize=${gttMiB}`, `ttm.pages_limit=${pages}`, `ttm.page_pool_size=${pages}`],
    arithmetic: `memory ${memoryMiB} MiB - ${HOST_RESERVE_MIB} MiB kept for the host = ${gttMiB} MiB of GTT (amdgpu.gttsize); ${gttMiB} MiB x ${PAGES_PER_MIB} pages of 4 KiB = ${pages} pages (ttm.pages_limit, ttm.page_pool_size)`,
  };
}

/**
 * The offline catalog of the target version. Older versions than it covers are
 * refused (their extension names differ: i915-ucode, unsplit NVIDIA names), newer
 * ones go unchecked with a warning (their names are the newest known ones).
 */
function defaultCatalog(talosVersion: string, warnings: string[]): Catalog | null {
  const oldest = OFFLINE_MINORS[0] ?? "1.9";
  if (!atLeastMinor(talosVersion, oldest)) {
    throw new HardwareOptionError(
      "talosVersion",
      `taloskit's extension catalog starts at Talos ${oldest}, and Talos ${talosVersion} names some extensions differently: pass the factory's catalog of ${talosVersion} (the catalog option), or catalog: null to use the names unchecked`,
    );
  }
  try {
    return offlineCatalog(talosVersion);
  } catch {
    warnings.push(
      `taloskit has no catalog of Talos ${talosVersion}: extension and overlay names were not checked`,
    );
    return null;
  }
}

/** The boot media of a target: the disk image alone for SBC overlays, else what the platform offers. */
function bootAssets(
  factory: string,
  pxeFactory: string,
  t: { schematicId: string; version: string; arch: Arch; platform: string; secureBoot: boolean },
  overlay: boolean,
): BootAssets {
  if (overlay) return { diskImage: imageUrl(factory, t, assetPaths.diskImage(t)) };
  const { iso, diskImage, pxe } = assetUrls(factory, pxeFactory, t);
  return {
    ...(iso === undefined ? {} : { iso }),
    ...(diskImage === undefined ? {} : { diskImage }),
    ...(pxe === undefined ? {} : { pxe }),
  };
}

/**
 * Kernel modules, sysctls and the rules' v1alpha1 patches as patch documents
 * for the target version, through the config builders. Versions older than
 * the oldest config schema use the legacy fields (as 1.12 and 1.13 do);
 * newer ones use the newest schema's form, with a warning.
 */
function renderPatches(
  modules: KernelModule[],
  sysctls: Record<string, string>,
  rulePatches: { patch: Record<string, unknown>; rule: string }[],
  talosVersion: string,
  warnings: string[],
): PatchDocument[] {
  const oldest = CONFIG_VERSIONS[0] ?? "1.12";
  const newest = CONFIG_VERSIONS[CONFIG_VERSIONS.length - 1] ?? "1.14";
  let formVersion: string = minorOf(talosVersion);
  let schemaKnown = true;
  if (!atLeastMinor(talosVersion, oldest)) {
    formVersion = oldest;
    schemaKnown = false;
  } else if (formVersion !== newest && atLeastMinor(talosVersion, newest)) {
    formVersion = newest;
    schemaKnown = false;
    if (modules.length || Object.keys(sysctls).length || rulePatches.length)
      warnings.push(
        `taloskit carries no config model of Talos ${talosVersion} (it knows ${CONFIG_VERSIONS.join(", ")}): patches are written in the ${formVersion} form, unchecked for ${talosVersion}`,
      );
  }
  const docs: PatchDocument[] = [
    ...(modules.length ? kernelModulesPatch(modules, formVersion) : []),
    ...(Object.keys(sysctls).length ? sysctlsPatch(sysctls, formVersion) : []),
  ];
  // A rule's v1alpha1 patch takes the target version's form: on 1.14 the machine
  // fields that moved become their documents, and those with no place there (the
  // kubelet's extraMounts) are left out with a warning.
  for (const { patch, rule } of rulePatches) {
    const { documents, leftOut } = machinePatchDocuments(patch, formVersion);
    if (leftOut.length) {
      warnings.push(
        `${rule}: Talos ${talosVersion} has no place for ${leftOut.join(", ")} of its config patch; left out`,
      );
    }
    for (const doc of documents) {
      const issue =
        schemaKnown && doc.kind === undefined
          ? validateDocuments([doc], formVersion, { partial: true }).issues[0]
          : undefined;
      if (issue) {
        warnings.push(
          `${rule}: its config patch does not fit Talos ${talosVersion} (${issue.path}: ${issue.message}); left out`,
        );
      } else docs.push(doc);
    }
  }
  // One v1alpha1 document (the legacy fields and the rules' patches merged), then
  // one document per kind and name: a patch may not hold the same document twice.
  return mergePatchDocuments(docs);
}

/**
 * One NVIDIA driver flavour and branch per machine: proprietary modules win
 * when any GPU predates Turing (and force the LTS branch, the last to support
 * those GPUs); open modules otherwise. Blackwell GPUs cannot use the
 * proprietary modules, so a machine with both kinds cannot be served by one driver.
 */
function resolveNvidiaBranch(
  applied: { rule: HardwareRule; because: string[] }[],
  wanted: NvidiaBranch,
  warnings: string[],
): NvidiaBranch {
  const proprietary = applied.find((a) => a.rule.nvidia === "proprietary");
  const requiresOpen = applied.find((a) => a.rule.nvidia === "requires-open");
  if (!proprietary) return wanted;
  const openIndex = applied.findIndex((a) => a.rule.nvidia === "open");
  if (openIndex >= 0) {
    warnings.push(
      `NVIDIA GPUs of several generations: the proprietary modules serve them all (${applied[openIndex]?.because.join("; ")})`,
    );
    applied.splice(openIndex, 1);
  }
  if (requiresOpen) {
    warnings.push(
      `NVIDIA Blackwell GPUs (${requiresOpen.because.join("; ")}) need the open modules, but older GPUs (${proprietary.because.join("; ")}) need the proprietary ones: no single driver serves this machine; put them in separate machines`,
    );
  }
  if (wanted === "production") {
    warnings.push(
      "NVIDIA production branch requested, but GPUs older than Turing need the LTS branch: using lts",
    );
  }
  return "lts";
}
