// Inventory from a Talos node's COSI hardware resources, as their yaml_spec
// decodes (the keys Talos prints with `talosctl get ... -o yaml`). Works on
// configured nodes and in maintenance mode, where these resources are readable.
import {
  archOf,
  cpuVendorOf,
  type MachineInventory,
  MachineInventorySchema,
} from "../inventory.js";

type Spec = Record<string, unknown>;

export interface TalosHardwareResources {
  node?: string;
  /** VersionInfo.arch of the node (`amd64`, `arm64`). */
  arch?: string;
  systemInformation?: Spec;
  processors?: Spec[];
  /** CPUCores (Talos 1.14+), which carry the CPU vendor id. */
  cpuCores?: Spec[];
  /** PCIDevices: the resource id (bus address) and its spec. */
  pciDevices?: { id: string; spec: Spec }[];
  memoryModules?: Spec[];
  disks?: { id: string; spec: Spec }[];
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);

export function inventoryFromTalosResources(r: TalosHardwareResources): MachineInventory {
  const vendorText = str(r.cpuCores?.[0]?.vendorID) ?? str(r.processors?.[0]?.manufacturer);
  const memoryMiB = r.memoryModules?.reduce((sum, m) => sum + (num(m.sizeMiB) ?? 0), 0);
  return MachineInventorySchema.parse({
    source: `talos${r.node ? ` ${r.node}` : ""}`,
    name: r.node,
    cpu: {
      vendor: cpuVendorOf(vendorText),
      arch: archOf(r.arch),
      model: str(r.cpuCores?.[0]?.modelName) ?? str(r.processors?.[0]?.productName),
    },
    system: {
      manufacturer: str(r.systemInformation?.manufacturer),
      productName: str(r.systemInformation?.productName),
    },
    memoryMiB: memoryMiB || undefined,
    pciDevices: (r.pciDevices ?? []).map(({ id, spec }) => ({
      slot: id,
      classId: str(spec.class_id) ?? "0x00",
      subclassId: str(spec.subclass_id) ?? "0x00",
      vendorId: str(spec.vendor_id) ?? "0x0000",
      productId: str(spec.product_id),
      className: str(spec.class),
      vendor: str(spec.vendor),
      product: str(spec.product),
      driver: str(spec.driver),
    })),
    disks: (r.disks ?? []).map(({ id, spec }) => ({
      name: id,
      sizeBytes: num(spec.size),
      model: str(spec.model),
      transport: str(spec.transport),
      rotational: typeof spec.rotational === "boolean" ? spec.rotational : undefined,
    })),
  });
}
