// Inventory from a Talos node's COSI hardware resources, as their yaml_spec
// decodes (the keys Talos prints with `talosctl get ... -o yaml`). Works on
// configured nodes and in maintenance mode, where these resources are readable.
import {
  type Arch,
  archOf,
  cpuFromPciBridges,
  cpuVendorOf,
  InventoryParseError,
  type MachineInventory,
  MachineInventorySchema,
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

export function inventoryFromTalosResources(r: TalosHardwareResources): MachineInventory {
  const vendorText = str(r.cpuCores?.[0]?.vendorID) ?? str(r.processors?.[0]?.manufacturer);
  const memoryMiB = r.memoryModules?.reduce((sum, m) => sum + (num(m.sizeMiB) ?? 0), 0);
  const pciDevices = (r.pciDevices ?? []).map(({ id, spec }) => {
    if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
      throw new InventoryParseError(FORMAT, `PCIDevice ${id}: spec is not a mapping`);
    }
    return {
      slot: id,
      classId: hexField(id, spec, "class_id", true),
      subclassId: hexField(id, spec, "subclass_id", true),
      vendorId: hexField(id, spec, "vendor_id", true),
      productId: hexField(id, spec, "product_id", false),
      className: str(spec.class),
      vendor: str(spec.vendor),
      product: str(spec.product),
      driver: str(spec.driver),
    };
  });
  const parsed = MachineInventorySchema.safeParse({ pciDevices });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InventoryParseError(FORMAT, `${issue?.path.join(".")}: ${issue?.message}`);
  }
  const fromBridges = cpuFromPciBridges(parsed.data.pciDevices);
  // "other" (a hypervisor's SMBIOS name such as QEMU) yields to what the bridges tell.
  const textVendor = cpuVendorOf(vendorText);
  const vendor =
    textVendor && textVendor !== "other" ? textVendor : (fromBridges.vendor ?? textVendor);
  const arch =
    archOf(r.arch) ??
    archFromFlags(r.cpuCores?.[0]?.flags) ??
    (vendor === "intel" || vendor === "amd" ? "amd64" : vendor === "arm" ? "arm64" : undefined) ??
    fromBridges.arch;
  const running =
    r.talosVersion || r.schematicId
      ? { talosVersion: r.talosVersion, schematicId: r.schematicId }
      : undefined;
  return MachineInventorySchema.parse({
    source: `talos${r.node ? ` ${r.node}` : ""}`,
    name: r.node,
    cpu: {
      vendor,
      arch,
      model: str(r.cpuCores?.[0]?.modelName) ?? str(r.processors?.[0]?.productName),
    },
    system: {
      manufacturer: str(r.systemInformation?.manufacturer),
      productName: str(r.systemInformation?.productName),
    },
    memoryMiB: memoryMiB || undefined,
    pciDevices: parsed.data.pciDevices,
    disks: (r.disks ?? []).map(({ id, spec }) => ({
      name: id,
      sizeBytes: num(spec.size),
      model: str(spec.model),
      transport: str(spec.transport),
      rotational: typeof spec.rotational === "boolean" ? spec.rotational : undefined,
    })),
    running,
  });
}
