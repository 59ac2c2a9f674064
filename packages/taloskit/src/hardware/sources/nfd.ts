// Inventory from Node Feature Discovery labels of a Kubernetes node. NFD's PCI
// labels name class and vendor (`pci-0300_10de.present`), and the device only
// when configured to (`pci-0302_10de_2330.present`), so results can be coarser.
import {
  archOf,
  checkInventoryText,
  clipText,
  cpuVendorOf,
  describeValue,
  InventoryParseError,
  type MachineInventory,
  type PciDevice,
  validateInventory,
} from "../inventory.js";

const PREFIX = "feature.node.kubernetes.io/";

const FORMAT = "nfd";

/**
 * Labels from `kubectl get node -o json` (one node or a list), a labels object, or `key=value` lines.
 * Each node's labels come back as a prototype-free object of strings.
 */
export function nfdLabels(input: string | object): Map<string, Record<string, string>> {
  let data: unknown = input;
  if (typeof input === "string") {
    const trimmed = checkInventoryText(FORMAT, input).trim();
    if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
      try {
        data = JSON.parse(trimmed);
      } catch (error) {
        throw new InventoryParseError(FORMAT, `not valid JSON: ${(error as Error).message}`);
      }
    } else {
      const labels: Record<string, string> = Object.create(null);
      trimmed.split(/[\n,]/).forEach((line, i) => {
        if (!line.trim()) return;
        const eq = line.indexOf("=");
        if (eq < 1)
          throw new InventoryParseError(
            FORMAT,
            `expected key=value, got "${clipText(line.trim())}"`,
            i + 1,
          );
        labels[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
      });
      return new Map([["node", labels]]);
    }
  }
  if (!isMapping(data)) {
    throw new InventoryParseError(
      FORMAT,
      `expected a node, a node list or labels, got ${describeValue(data)}`,
    );
  }
  const nodes = new Map<string, Record<string, string>>();
  const add = (node: unknown, index: number) => {
    const meta = isMapping(node) ? node.metadata : undefined;
    if (!isMapping(meta) || meta.labels === undefined) {
      throw new InventoryParseError(FORMAT, `item ${index} has no metadata.labels`);
    }
    const name = meta.name ?? `node-${index}`;
    if (typeof name !== "string") {
      throw new InventoryParseError(
        FORMAT,
        `item ${index}: metadata.name is ${describeValue(name)}, not a string`,
      );
    }
    nodes.set(name, labelsOf(meta.labels, `item ${index}: metadata.labels`));
  };
  if (Array.isArray(data.items)) data.items.forEach(add);
  else if (data.items !== undefined) {
    throw new InventoryParseError(FORMAT, `items is ${describeValue(data.items)}, not a list`);
  } else if (data.metadata !== undefined) add(data, 0);
  else nodes.set("node", labelsOf(data, "labels"));
  return nodes;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Labels as a prototype-free object; every value must be a string, as Kubernetes labels are. */
function labelsOf(value: unknown, field: string): Record<string, string> {
  if (!isMapping(value)) {
    throw new InventoryParseError(FORMAT, `${field} is ${describeValue(value)}, not a mapping`);
  }
  const labels: Record<string, string> = Object.create(null);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== "string") {
      throw new InventoryParseError(
        FORMAT,
        `${field}: label "${clipText(key)}" is ${describeValue(v)}, not a string`,
      );
    }
    labels[key] = v;
  }
  return labels;
}

/** One inventory from one node's labels. */
export function inventoryFromNfd(input: Record<string, string>, name?: string): MachineInventory {
  const labels = labelsOf(input, "labels");
  if (name !== undefined && typeof name !== "string") {
    throw new InventoryParseError(FORMAT, `name is ${describeValue(name)}, not a string`);
  }
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
  return validateInventory(FORMAT, {
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
