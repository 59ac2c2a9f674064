// Hardware resolution: from what a machine has to the schematic (extensions,
// kernel arguments, overlay), platform and config patches that it needs for a
// target Talos version, each decision with the rule and the facts behind it.
import { schematicId } from "@taloskit/factory";
import type { Arch, MachineInventory, PciDevice } from "./inventory.js";
import { describeDevice, evaluate } from "./match.js";
import { defaultRules, type HardwareRule, type KernelModule, type RuleCondition } from "./rules.js";

export type NvidiaBranch = "lts" | "production";

export interface ResolveOptions {
  /** Target Talos version, `v1.14.0` or `1.14.0`. */
  talosVersion: string;
  /** Target arch; defaults to the machine's, then amd64. */
  arch?: Arch;
  /** Platform override (`metal`, `aws`, `vmware`, ...); defaults to what the rules choose, then metal. */
  platform?: string;
  secureBoot?: boolean;
  /** NVIDIA driver branch; LTS unless asked otherwise. */
  nvidiaBranch?: NvidiaBranch;
  /** Workloads the machine must serve (`longhorn`, `zfs`, `drbd`, `tailscale`, ...). */
  intents?: string[];
  /** The rule table; defaults to {@link defaultRules}. Pass `[...defaultRules, ...mine]` to extend it. */
  rules?: HardwareRule[];
  extraExtensions?: string[];
  extraKernelArgs?: string[];
  /** Says whether an extension exists for a Talos version; without it, names are not checked. */
  extensionAvailable?: (name: string, talosVersion: string) => boolean;
}

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
  reasons: ResolutionReason[];
  warnings: string[];
}

/** Parses `v1.14.0`, `1.14`, `v1.12.3-beta.1` into comparable numbers. */
export function parseVersion(version: string): [number, number, number] {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(version.trim());
  if (!m) throw new TypeError(`"${version}" is not a Talos version such as v1.14.0`);
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

export function compareVersions(a: string, b: string): number {
  const [x, y] = [parseVersion(a), parseVersion(b)];
  for (let i = 0; i < 3; i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

export function normalizeVersion(version: string): string {
  return `v${parseVersion(version).join(".")}`;
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
      if (evaluate(rule.when, { ...machine, pciDevices: [device] }, new Set()).matched)
        explained.add(device);
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
  const talosVersion = normalizeVersion(options.talosVersion);
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
    if (rule.talos?.min && compareVersions(talosVersion, rule.talos.min) < 0) {
      warnings.push(
        `${rule.id}: ${rule.summary}, but Talos ${talosVersion} is older than ${normalizeVersion(rule.talos.min)} (${result.evidence.join("; ") || "matched"})`,
      );
      continue;
    }
    applied.push({ rule, because: result.evidence });
    warnings.push(...(rule.warnings ?? []));
  }
  const known = new Set(rules.flatMap((r) => intentsOf(r.when)));
  for (const intent of intents) {
    if (!known.has(intent)) warnings.push(`unknown intent "${intent}": no rule serves it`);
  }

  const branch = resolveNvidiaBranch(applied, options.nvidiaBranch ?? "lts", warnings);
  const extensions = new Set<string>();
  const kernelArgs: string[] = [];
  const kernelModules: KernelModule[] = [];
  const sysctls: Record<string, string> = {};
  const machinePatches: Record<string, unknown>[] = [];
  let overlay: HardwarePlan["schematic"]["overlay"];
  let platform: string | undefined;

  for (const { rule, because } of applied) {
    const ruleExtensions = (rule.extensions ?? []).map((e) => e.replace("{nvidia}", branch));
    const available = ruleExtensions.filter((name) => {
      if (!options.extensionAvailable || options.extensionAvailable(name, talosVersion))
        return true;
      warnings.push(`${rule.id}: extension ${name} does not exist for Talos ${talosVersion}`);
      return false;
    });
    for (const e of available) extensions.add(e);
    for (const arg of rule.kernelArgs ?? []) if (!kernelArgs.includes(arg)) kernelArgs.push(arg);
    for (const m of rule.kernelModules ?? [])
      if (!kernelModules.some((k) => k.name === m.name)) kernelModules.push(m);
    Object.assign(sysctls, rule.sysctls);
    machinePatches.push(...(rule.machinePatches ?? []));
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
      kernelArgs: rule.kernelArgs ?? [],
      overlay: rule.overlay?.name,
      platform: rule.platform,
      kernelModules: (rule.kernelModules ?? []).map((m) => m.name),
      sysctls: Object.keys(rule.sysctls ?? {}),
    });
  }
  for (const e of options.extraExtensions ?? []) extensions.add(e.replace(/^siderolabs\//, ""));
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
  if (overlay && arch !== "arm64")
    warnings.push(`overlay ${overlay.name} is for arm64 boards, but the target arch is ${arch}`);
  for (const name of ["amdgpu", "i915", "xe", "intel-ucode", "amd-ucode"]) {
    if (extensions.has(name) && arch === "arm64") warnings.push(`${name} has no content for arm64`);
  }

  const officialExtensions = [...extensions].map((e) => `siderolabs/${e}`).sort();
  const schematic: ResolvedSchematic = { customization: {} };
  if (overlay) schematic.overlay = overlay;
  if (kernelArgs.length) schematic.customization.extraKernelArgs = kernelArgs;
  if (officialExtensions.length) schematic.customization.systemExtensions = { officialExtensions };

  return {
    machine: machine.name,
    talosVersion,
    arch,
    platform: options.platform ?? platform ?? "metal",
    secureBoot: options.secureBoot ?? false,
    schematic,
    id: schematicId(schematic),
    kernelModules,
    sysctls,
    machinePatches,
    reasons,
    warnings: [...new Set(warnings)],
  };
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
