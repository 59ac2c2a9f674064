// Inventory from a Linux sysfs listing, for machines that are not running Talos
// yet. The expected text is what this prints (file:value lines, driver links):
//
//   grep -H . /sys/bus/pci/devices/*/{class,vendor,device,subsystem_vendor,subsystem_device} \
//     /sys/class/dmi/id/{sys_vendor,product_name} /sys/firmware/devicetree/base/model 2>/dev/null
//   for d in /sys/bus/pci/devices/*/driver; do echo "$d -> $(readlink "$d")"; done
//   echo "arch:$(uname -m)"; grep -m1 vendor_id /proc/cpuinfo
import {
  archOf,
  checkInventoryText,
  clipText,
  cpuVendorOf,
  InventoryParseError,
  type MachineInventory,
  validateInventory,
} from "../inventory.js";

const FORMAT = "sysfs";

export function inventoryFromSysfs(text: string, name?: string): MachineInventory {
  const devices = new Map<string, Record<string, string>>();
  const facts = new Map<string, string>();
  checkInventoryText(FORMAT, text)
    .split("\n")
    .forEach((raw, i) => {
      const line = raw.replace(/\0/g, "").trim();
      if (!line) return;
      const link = /^\/sys\/bus\/pci\/devices\/([^/]+)\/driver -> .*\/([^/]+)$/.exec(line);
      const attr =
        /^\/sys\/bus\/pci\/devices\/([^/]+)\/(class|vendor|device|subsystem_vendor|subsystem_device):(.*)$/.exec(
          line,
        );
      const file = /^(\/sys\/[^:]+|arch|vendor_id\s*):\s*(.*)$/.exec(line);
      const device = (slot: string) => devices.get(slot) ?? devices.set(slot, {}).get(slot) ?? {};
      if (link) device(link[1] as string).driver = link[2] as string;
      else if (attr)
        device(attr[1] as string)[attr[2] as string] = (attr[3] ?? "").trim().toLowerCase();
      else if (file) facts.set((file[1] ?? "").trim(), (file[2] ?? "").trim());
      else throw new InventoryParseError(FORMAT, `unrecognized line "${clipText(line)}"`, i + 1);
    });
  const pciDevices = [...devices].map(([slot, d]) => {
    if (!d.class || !d.vendor)
      throw new InventoryParseError(FORMAT, `device ${slot} lacks its class or vendor file`);
    // The class file holds 0xCCSSPP: class, subclass, programming interface.
    const cls = d.class.replace(/^0x/, "").padStart(6, "0");
    return {
      slot,
      classId: `0x${cls.slice(0, 2)}`,
      subclassId: `0x${cls.slice(2, 4)}`,
      vendorId: d.vendor,
      productId: d.device,
      subsystemVendorId: d.subsystem_vendor,
      subsystemId: d.subsystem_device,
      driver: d.driver,
    };
  });
  const model = facts.get("/sys/firmware/devicetree/base/model");
  return validateInventory(FORMAT, {
    source: "sysfs",
    name,
    cpu: { vendor: cpuVendorOf(facts.get("vendor_id")), arch: archOf(facts.get("arch")) },
    system: {
      manufacturer: facts.get("/sys/class/dmi/id/sys_vendor"),
      productName: facts.get("/sys/class/dmi/id/product_name"),
    },
    board: model ? { model } : undefined,
    pciDevices,
  });
}
