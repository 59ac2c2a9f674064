// One normalized picture of a machine, whatever it was read from: a live Talos
// node, lspci text, a sysfs listing, Node Feature Discovery labels or JSON.
import { TalosError } from "@taloskit/core";
import { z } from "zod";

/** A PCI id in Talos's spelling: lower-case hex with a 0x prefix (`0x10de`, class `0x03`). */
const hexId = (digits: number) =>
  z
    .string()
    .regex(/^(0x)?[0-9a-fA-F]+$/, "must be a hexadecimal id such as 0x10de")
    .transform((v) => normalizeHex(v, digits));

export function normalizeHex(value: string, digits: number): string {
  const bare = value.toLowerCase().replace(/^0x/, "");
  return `0x${bare.padStart(digits, "0")}`;
}

export const PciDeviceSchema = z.object({
  /** Bus address, e.g. `0000:01:00.0`. */
  slot: z.string().optional(),
  classId: hexId(2),
  subclassId: hexId(2),
  vendorId: hexId(4),
  /** Device id; NFD labels may not carry it. */
  productId: hexId(4).optional(),
  subsystemVendorId: hexId(4).optional(),
  subsystemId: hexId(4).optional(),
  className: z.string().optional(),
  vendor: z.string().optional(),
  product: z.string().optional(),
  /** Kernel driver bound to the device, when the source knows it. */
  driver: z.string().optional(),
});
export type PciDevice = z.output<typeof PciDeviceSchema>;

export const CPU_VENDORS = ["intel", "amd", "arm", "nvidia", "other"] as const;
export type CpuVendor = (typeof CPU_VENDORS)[number];
export const ARCHES = ["amd64", "arm64"] as const;
export type Arch = (typeof ARCHES)[number];

export const MachineInventorySchema = z.object({
  /** Where the facts came from, e.g. `lspci`, `talos 10.5.0.2`, `nfd worker-3`. */
  source: z.string().default("json"),
  /** Name of the machine in reports and fleet groups. */
  name: z.string().optional(),
  cpu: z
    .object({
      vendor: z.enum(CPU_VENDORS).optional(),
      arch: z.enum(ARCHES).optional(),
      model: z.string().optional(),
    })
    .default({}),
  system: z
    .object({
      manufacturer: z.string().optional(),
      productName: z.string().optional(),
    })
    .default({}),
  /** Device-tree identity of boards without SMBIOS (SBCs). */
  board: z
    .object({
      model: z.string().optional(),
      compatible: z.array(z.string()).default([]),
    })
    .optional(),
  memoryMiB: z.number().int().nonnegative().optional(),
  pciDevices: z.array(PciDeviceSchema).default([]),
  disks: z
    .array(
      z.object({
        name: z.string(),
        sizeBytes: z.number().nonnegative().optional(),
        model: z.string().optional(),
        transport: z.string().optional(),
        rotational: z.boolean().optional(),
      }),
    )
    .default([]),
  /** True when the source could not see device ids (NFD labels by class and vendor only). */
  partialPciIds: z.boolean().default(false),
  /**
   * What a live Talos node runs now, when read from one: its version, Image
   * Factory schematic, platform (PlatformMetadata) and SecureBoot state
   * (SecurityState), which an upgrade's installer must keep.
   */
  running: z
    .object({
      talosVersion: z.string().optional(),
      schematicId: z.string().optional(),
      platform: z.string().optional(),
      secureBoot: z.boolean().optional(),
    })
    .optional(),
});
export type MachineInventory = z.output<typeof MachineInventorySchema>;
export type MachineInventoryInput = z.input<typeof MachineInventorySchema>;

/**
 * Raised when an inventory source cannot be read; `line` points at the offending input
 * line, `node` names the node it was read from when there is one. A {@link TalosError}.
 */
export class InventoryParseError extends TalosError {
  override readonly name: string = "InventoryParseError";
  /** Stable, machine-readable code. */
  declare readonly code: "INVENTORY_PARSE_ERROR";
  constructor(
    readonly format: string,
    message: string,
    readonly line?: number,
    options: { node?: string | undefined; cause?: unknown } = {},
  ) {
    super(
      "INVENTORY_PARSE_ERROR",
      `${format}: ${line !== undefined ? `line ${line}: ` : ""}${message}`,
      options,
    );
  }
}

/** The largest text an inventory source reads (16 MiB): lspci -xxxx of a large server is well below it. */
export const MAX_INVENTORY_TEXT = 16 * 1024 * 1024;

/** Refuses text past {@link MAX_INVENTORY_TEXT} before any parsing work. */
export function checkInventoryText(format: string, text: unknown): string {
  if (typeof text !== "string") {
    throw new InventoryParseError(format, `expected text, got ${describeValue(text)}`);
  }
  if (text.length > MAX_INVENTORY_TEXT) {
    throw new InventoryParseError(
      format,
      `input is ${text.length} characters, more than the limit of ${MAX_INVENTORY_TEXT}`,
    );
  }
  return text;
}

/** Input text quoted in a message, cut to its first 80 characters. */
export function clipText(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}

/** What a value is, for messages (never the value itself, which may be large). */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "a mapping" : `a ${typeof value}`;
}

/**
 * Validates an inventory against the schema, throwing an InventoryParseError
 * that names the first bad field by its path (never a ZodError).
 */
export function validateInventory(format: string, value: unknown): MachineInventory {
  return checked(format, MachineInventorySchema, value);
}

/** Validates one PCI device, as {@link validateInventory} does. */
export function validatePciDevice(format: string, value: unknown, line?: number): PciDevice {
  return checked(format, PciDeviceSchema, value, line);
}

function checked<T>(format: string, schema: z.ZodType<T>, value: unknown, line?: number): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path.length ? issue.path.join(".") : "(root)";
  throw new InventoryParseError(format, `${path}: ${issue?.message ?? "invalid"}`, line);
}

/** Validates a hand-written inventory (JSON), naming the field that is wrong. */
export function inventoryFromJson(input: unknown): MachineInventory {
  const value = typeof input === "string" ? parseJsonText(input) : input;
  return validateInventory("json inventory", value);
}

function parseJsonText(text: string): unknown {
  checkInventoryText("json inventory", text);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InventoryParseError("json inventory", (error as Error).message);
  }
}

/** CPU vendor from a /proc/cpuinfo vendor id or an SMBIOS manufacturer string. */
export function cpuVendorOf(text: string | undefined): CpuVendor | undefined {
  if (typeof text !== "string" || !text) return undefined;
  const t = text.toLowerCase();
  if (t.includes("genuineintel") || t.includes("intel")) return "intel";
  if (t.includes("authenticamd") || t.includes("amd") || t.includes("advanced micro")) return "amd";
  if (t.includes("nvidia")) return "nvidia";
  if (t.includes("arm") || t.includes("broadcom") || t.includes("rockchip") || t.includes("apple"))
    return "arm";
  return "other";
}

/**
 * CPU vendor and arch told from PCI bridges alone: the host bridge on x86
 * (Intel or AMD), the SoC's PCIe bridge on a Raspberry Pi (BCM2711, BCM2712).
 */
export function cpuFromPciBridges(devices: readonly PciDevice[]): {
  vendor?: CpuVendor;
  arch?: Arch;
} {
  const hostBridge = devices.find((d) => d.classId === "0x06" && d.subclassId === "0x00");
  if (hostBridge?.vendorId === "0x8086") return { vendor: "intel", arch: "amd64" };
  if (hostBridge?.vendorId === "0x1022") return { vendor: "amd", arch: "amd64" };
  const socBridge = devices.find(
    (d) =>
      d.vendorId === "0x14e4" &&
      (d.productId === undefined
        ? /\bBCM271[12]\b/.test(d.product ?? "") // plain lspci: the chip by name
        : ["0x2711", "0x2712"].includes(d.productId)),
  );
  if (socBridge) return { vendor: "arm", arch: "arm64" };
  return {};
}

/** A PCI address with its domain, as sysfs and Talos name it: `01:00.0` becomes `0000:01:00.0`. */
export function fullPciSlot(slot: string): string {
  return /^[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$/.test(slot) ? `0000:${slot.toLowerCase()}` : slot;
}

/** Talos arch names from uname or Go spellings. */
export function archOf(text: string | undefined): Arch | undefined {
  if (typeof text !== "string" || !text) return undefined;
  const t = text.trim().toLowerCase();
  if (t === "x86_64" || t === "amd64") return "amd64";
  if (t === "aarch64" || t === "arm64") return "arm64";
  return undefined;
}
