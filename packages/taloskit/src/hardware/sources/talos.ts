// Inventory from a Talos node's COSI hardware resources, as their yaml_spec
// decodes (the keys Talos prints with `talosctl get ... -o yaml`). Works on
// configured nodes and in maintenance mode, where these resources are readable.
import {
  type Arch,
  archOf,
  cpuFromPciBridges,
  cpuVendorOf,
  describeValue,
  InventoryParseError,
  type MachineInventory,
  validateInventory,
} from "../inventory.js";

type Spec = Record<string, unknown>;

export interface TalosHardwareResources {
  node?: string;
  /** VersionInfo.arch of the node (`amd64`, `arm64`); inferred from the CPU and PCI bridges when absent. */
  arch?: string;
  systemInformation?: Spec;
  processors?: Spec[];
  /** CPUCores (Talos 1.14+), which carry the CPU vendor id. */
  cpuCores?: Spec[];
  /** PCIDevices: the resource id (bus address) and its spec. */
  pciDevices?: { id: string; spec: Spec }[];
  memoryModules?: Spec[];
  disks?: { id: string; spec: Spec }[];
  /** The Talos version the node runs (the Version resource). */
  talosVersion?: string;
  /** The Image Factory schematic the node runs (the `schematic` extension's version). */
  schematicId?: string;
  /** PlatformMetadata: `platform` is what the node booted as (metal, nocloud, aws, ...). */
  platformMetadata?: Spec;
  /** SecurityState: `secureBoot` tells whether the node booted through SecureBoot. */
  securityState?: Spec;
  /**
   * The device tree of boards without SMBIOS (SBCs), as /proc/device-tree holds
   * it: `model` and the `compatible` strings (NUL-separated there).
   */
  deviceTree?: { model?: string; compatible?: string[] };
}

const FORMAT = "talos resources";
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);

function hexField(id: string, spec: Spec, key: string, required: boolean): string | undefined {
  const value = spec[key];
  if (value === undefined || value === "") {
    if (required) throw new InventoryParseError(FORMAT, `PCIDevice ${id}: spec has no ${key}`);
    return undefined;
  }
  if (typeof value !== "string" || !/^(0x)?[0-9a-fA-F]+$/.test(value)) {
    throw new InventoryParseError(
      FORMAT,
      `PCIDevice ${id}: ${key} ${JSON.stringify(value)} is not a hexadecimal id such as 0x10de`,
    );
  }
  return value;
}

/** The arch of a CPU from its /proc/cpuinfo flags: `asimd` is arm64's, `lm` x86-64's. */
function archFromFlags(flags: unknown): Arch | undefined {
  if (!Array.isArray(flags)) return undefined;
  if (flags.includes("asimd")) return "arm64";
  if (flags.includes("lm")) return "amd64";
  return undefined;
}

const isSpec = (v: unknown): v is Spec => typeof v === "object" && v !== null && !Array.isArray(v);

/** A list field of the resources: absent, or a list of mappings. */
function specs(r: Spec, field: string): Spec[] {
  const list = r[field];
  if (list === undefined) return [];
  if (!Array.isArray(list)) {
    throw new InventoryParseError(FORMAT, `${field} is ${describeValue(list)}, not a list`);
  }
  list.forEach((item, i) => {
    if (!isSpec(item)) {
      throw new InventoryParseError(
        FORMAT,
        `${field}.${i} is ${describeValue(item)}, not a mapping`,
      );
    }
  });
  return list;
}

/** A list of `{ id, spec }` resources, each with a string id and a mapping spec. */
function identified(r: Spec, field: string): { id: string; spec: Spec }[] {
  return specs(r, field).map((item, i) => {
    if (typeof item.id !== "string") {
      throw new InventoryParseError(
        FORMAT,
        `${field}.${i}.id is ${describeValue(item.id)}, not a string`,
      );
    }
    if (!isSpec(item.spec)) {
      throw new InventoryParseError(
        FORMAT,
        `${field}.${i}.spec is ${describeValue(item.spec)}, not a mapping`,
      );
    }
    return { id: item.id, spec: item.spec };
  });
}

/** A mapping field of the resources: absent (an empty mapping) or a mapping. */
function mapping(r: Spec, field: string): Spec {
  const value = r[field] ?? {};
  if (isSpec(value)) return value;
  throw new InventoryParseError(FORMAT, `${field} is ${describeValue(value)}, not a mapping`);
}

/** A text field of the resources: absent or a string. */
function text(r: Spec, field: string): string | undefined {
  const value = r[field];
  if (value === undefined || typeof value === "string") return value;
  throw new InventoryParseError(FORMAT, `${field} is ${describeValue(value)}, not a string`);
}

export function inventoryFromTalosResources(input: TalosHardwareResources): MachineInventory {
  if (!isSpec(input)) {
    throw new InventoryParseError(FORMAT, `expected the resources, got ${describeValue(input)}`);
  }
  const r = input as unknown as Spec;
  const node = text(r, "node");
  const talosVersion = text(r, "talosVersion");
  const schematicId = text(r, "schematicId");
  const systemInformation = mapping(r, "systemInformation");
  const cores = specs(r, "cpuCores");
  const processors = specs(r, "processors");
  const vendorText = str(cores[0]?.vendorID) ?? str(processors[0]?.manufacturer);
  const memoryMiB = specs(r, "memoryModules").reduce((sum, m) => sum + (num(m.sizeMiB) ?? 0), 0);
  const pciDevices = identified(r, "pciDevices").map(({ id, spec }) => ({
    slot: id,
    classId: hexField(id, spec, "class_id", true),
    subclassId: hexField(id, spec, "subclass_id", true),
    vendorId: hexField(id, spec, "vendor_id", true),
    productId: hexField(id, spec, "product_id", false),
    className: str(spec.class),
    vendor: str(spec.vendor),
    product: str(spec.product),
    driver: str(spec.driver),
  }));
  const checkedDevices = validateInventory(FORMAT, { pciDevices }).pciDevices;
  const fromBridges = cpuFromPciBridges(checkedDevices);
  // "other" (a hypervisor's SMBIOS name such as QEMU) yields to what the bridges tell.
  const textVendor = cpuVendorOf(vendorText);
  const vendor =
    textVendor && textVendor !== "other" ? textVendor : (fromBridges.vendor ?? textVendor);
  const arch =
    archOf(text(r, "arch")) ??
    archFromFlags(cores[0]?.flags) ??
    (vendor === "intel" || vendor === "amd" ? "amd64" : vendor === "arm" ? "arm64" : undefined) ??
    fromBridges.arch;
  const platformMetadata = mapping(r, "platformMetadata");
  const securityState = mapping(r, "securityState");
  const deviceTree = mapping(r, "deviceTree");
  const platform = str(platformMetadata.platform);
  const secureBoot =
    typeof securityState.secureBoot === "boolean" ? securityState.secureBoot : undefined;
  const running =
    talosVersion || schematicId || platform || secureBoot !== undefined
      ? { talosVersion, schematicId, platform, secureBoot }
      : undefined;
  const boardModel = str(deviceTree.model);
  const compatible = Array.isArray(deviceTree.compatible)
    ? deviceTree.compatible.filter((c): c is string => typeof c === "string" && c !== "")
    : [];
  return validateInventory(FORMAT, {
    source: `talos${node ? ` ${node}` : ""}`,
    name: node,
    cpu: {
      vendor,
      arch,
      model: str(cores[0]?.modelName) ?? str(processors[0]?.productName),
    },
    system: {
      manufacturer: str(systemInformation.manufacturer),
      productName: str(systemInformation.productName),
    },
    board: boardModel || compatible.length ? { model: boardModel, compatible } : undefined,
    memoryMiB: memoryMiB || undefined,
    pciDevices: checkedDevices,
    disks: identified(r, "disks").map(({ id, spec }) => ({
      name: id,
      sizeBytes: num(spec.size),
      model: str(spec.model),
      transport: str(spec.transport),
      rotational: typeof spec.rotational === "boolean" ? spec.rotational : undefined,
    })),
    running,
  });
}
