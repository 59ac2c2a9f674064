// Evaluates rule conditions against an inventory, collecting the facts that
// made each one true, so that every decision can say what triggered it.
import { type MachineInventory, normalizeHex, type PciDevice } from "./inventory.js";
import type { PciCondition, RuleCondition } from "./rules.js";

export interface MatchResult {
  matched: boolean;
  /** Human-readable facts behind a match, e.g. `pci 01:00.0 [10de:2330] NVIDIA H100`. */
  evidence: string[];
}

const NO = { matched: false, evidence: [] } satisfies MatchResult;

function regex(pattern: string): RegExp {
  return new RegExp(pattern, "i");
}

function idIn(id: string | undefined, wanted: (string | [string, string])[]): boolean {
  if (id === undefined) return false;
  const value = Number.parseInt(id, 16);
  return wanted.some((w) =>
    Array.isArray(w)
      ? value >= Number.parseInt(w[0], 16) && value <= Number.parseInt(w[1], 16)
      : value === Number.parseInt(w, 16),
  );
}

function classMatches(device: PciDevice, classes: string[]): boolean {
  return classes.some((c) => {
    const bare = c.toLowerCase().replace(/^0x/, "");
    return bare.length <= 2
      ? device.classId === normalizeHex(bare, 2)
      : device.classId === normalizeHex(bare.slice(0, 2), 2) &&
          device.subclassId === normalizeHex(bare.slice(2), 2);
  });
}

export function pciMatches(device: PciDevice, c: PciCondition): boolean {
  if (c.vendor && !c.vendor.some((v) => normalizeHex(v, 4) === device.vendorId)) return false;
  if (c.class && !classMatches(device, c.class)) return false;
  if (c.device && !idIn(device.productId, c.device)) return false;
  if (c.idKnown !== undefined && c.idKnown !== (device.productId !== undefined)) return false;
  if (c.driver && !(device.driver && c.driver.includes(device.driver))) return false;
  if (c.subsystem) {
    const sub = `${device.subsystemVendorId}:${device.subsystemId}`;
    if (!c.subsystem.some((s) => s.toLowerCase() === sub)) return false;
  }
  if (c.name && !regex(c.name).test(`${device.vendor ?? ""} ${device.product ?? ""}`)) return false;
  return true;
}

export function describeDevice(d: PciDevice): string {
  const id = `${d.vendorId.slice(2)}:${d.productId ? d.productId.slice(2) : "????"}`;
  const name = [d.vendor, d.product].filter(Boolean).join(" ") || d.className || "";
  return `pci ${d.slot ? `${d.slot} ` : ""}[${id}]${name ? ` ${name}` : ""}`;
}

export function evaluate(
  c: RuleCondition,
  machine: MachineInventory,
  intents: ReadonlySet<string>,
): MatchResult {
  if ("pci" in c) {
    const devices = machine.pciDevices.filter((d) => pciMatches(d, c.pci));
    return devices.length ? { matched: true, evidence: devices.map(describeDevice) } : NO;
  }
  if ("cpuVendor" in c) {
    const vendor = machine.cpu.vendor;
    return vendor && c.cpuVendor.includes(vendor)
      ? { matched: true, evidence: [`cpu vendor ${vendor}`] }
      : NO;
  }
  if ("arch" in c) {
    const arch = machine.cpu.arch;
    return arch && c.arch.includes(arch) ? { matched: true, evidence: [] } : NO;
  }
  if ("system" in c) {
    const { manufacturer, productName } = machine.system;
    const checks: [string | undefined, string | undefined, string][] = [
      [c.system.manufacturer, manufacturer, "manufacturer"],
      [c.system.productName, productName, "product"],
    ];
    const evidence: string[] = [];
    for (const [pattern, value, label] of checks) {
      if (pattern === undefined) continue;
      if (value === undefined || !regex(pattern).test(value)) return NO;
      evidence.push(`system ${label} "${value}"`);
    }
    return { matched: evidence.length > 0, evidence };
  }
  if ("board" in c) {
    const board = machine.board;
    if (!board) return NO;
    const evidence: string[] = [];
    if (c.board.model !== undefined) {
      if (!board.model || !regex(c.board.model).test(board.model)) return NO;
      evidence.push(`board model "${board.model}"`);
    }
    if (c.board.compatible !== undefined) {
      const pattern = regex(c.board.compatible);
      const hit = board.compatible.find((s) => pattern.test(s));
      if (!hit) return NO;
      evidence.push(`board compatible "${hit}"`);
    }
    return { matched: evidence.length > 0, evidence };
  }
  if ("intent" in c) {
    return intents.has(c.intent) ? { matched: true, evidence: [`intent ${c.intent}`] } : NO;
  }
  if ("all" in c) {
    const evidence: string[] = [];
    for (const sub of c.all) {
      const r = evaluate(sub, machine, intents);
      if (!r.matched) return NO;
      evidence.push(...r.evidence);
    }
    return { matched: true, evidence };
  }
  if ("any" in c) {
    const results = c.any.map((sub) => evaluate(sub, machine, intents)).filter((r) => r.matched);
    return results.length
      ? { matched: true, evidence: [...new Set(results.flatMap((r) => r.evidence))] }
      : NO;
  }
  return { matched: !evaluate(c.not, machine, intents).matched, evidence: [] };
}
