// Inventory from Node Feature Discovery labels of a Kubernetes node. NFD's PCI
// labels name class and vendor (`pci-0300_10de.present`), and the device only
// when configured to (`pci-0302_10de_2330.present`), so results can be coarser.
import {
  archOf,
  cpuVendorOf,
  InventoryParseError,
  type MachineInventory,
  MachineInventorySchema,
  type PciDevice,
} from "../inventory.js";

const PREFIX = "feature.node.kubernetes.io/";

/** Labels from `kubectl get node -o json` (one node or a list), a labels object, or `key=value` lines. */
export function nfdLabels(input: string | object): Map<string, Record<string, string>> {
  let data: unknown = input;
  if (typeof input === "string") {
    const trimmed = input.trim();
    if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
      try {
        data = JSON.parse(trimmed);
      } catch (error) {
        throw new InventoryParseError("nfd", `not valid JSON: ${(error as Error).message}`);
      }
    } else {
      const labels: Record<string, string> = {};
      trimmed.split(/[\n,]/).forEach((line, i) => {
        if (!line.trim()) return;
        const eq = line.indexOf("=");
        if (eq < 1)
          throw new InventoryParseError("nfd", `expected key=value, got "${line.trim()}"`, i + 1);
        labels[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
      });
      return new Map([["node", labels]]);
    }
  }
  const nodes = new Map<string, Record<string, string>>();
  const add = (node: unknown, index: number) => {
    const meta = (node as { metadata?: { name?: string; labels?: Record<string, string> } })
      ?.metadata;
    if (!meta?.labels) throw new InventoryParseError("nfd", `item ${index} has no metadata.labels`);
    nodes.set(meta.name ?? `node-${index}`, meta.labels);
  };
  const list = data as { kind?: string; items?: unknown[]; metadata?: unknown };
  if (Array.isArray(list.items)) list.items.forEach(add);
  else if (list.metadata) add(list, 0);
  else nodes.set("node", data as Record<string, string>);
  return nodes;
}

/** One inventory from one node's labels. */
export function inventoryFromNfd(labels: Record<string, string>, name?: string): MachineInventory {
  const pciDevices: PciDevice[] = [];
  let partial = false;
  for (const [key, value] of Object.entries(labels)) {
    const m =
      /^feature\.node\.kubernetes\.io\/pci-([0-9a-f]{2,4})_([0-9a-f]{4})(?:_([0-9a-f]{4}))?\.present$/i.exec(
        key,
      );
    if (!m || value !== "true") continue;
    const cls = (m[1] ?? "").toLowerCase().padEnd(4, "0");
    if (!m[3]) partial = true;
    pciDevices.push({
      classId: `0x${cls.slice(0, 2)}`,
      subclassId: `0x${cls.slice(2, 4)}`,
      vendorId: `0x${(m[2] ?? "").toLowerCase()}`,
      productId: m[3] ? `0x${m[3].toLowerCase()}` : undefined,
    });
  }
  return MachineInventorySchema.parse({
    source: `nfd${name ? ` ${name}` : ""}`,
    name,
    cpu: {
      vendor: cpuVendorOf(labels[`${PREFIX}cpu-model.vendor_id`]),
      arch: archOf(labels["kubernetes.io/arch"]),
    },
    system: {
      manufacturer: labels[`${PREFIX}system-dmi.sys_vendor`],
      productName: labels[`${PREFIX}system-dmi.product_name`],
    },
    pciDevices,
    partialPciIds: partial,
  });
}
