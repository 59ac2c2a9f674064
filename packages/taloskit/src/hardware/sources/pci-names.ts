// Names that plain `lspci` (without -nn) prints in place of PCI ids, mapped
// back to the ids: device class names and vendor names as the PCI ID
// Repository (pci.ids) spells them. Only names that stand for one id are here;
// a vendor that is not (Marvell's two ids share one name) is told apart by
// its device names, or not at all.

/** Class and subclass names (a subclass name wins where both exist) to `ccss`. */
const CLASS_IDS: Readonly<Record<string, string>> = {
  "non-vga unclassified device": "0000",
  "vga compatible unclassified device": "0001",
  "unclassified device": "0000",
  "scsi storage controller": "0100",
  "ide interface": "0101",
  "floppy disk controller": "0102",
  "raid bus controller": "0104",
  "ata controller": "0105",
  "sata controller": "0106",
  "serial attached scsi controller": "0107",
  "non-volatile memory controller": "0108",
  "mass storage controller": "0180",
  "ethernet controller": "0200",
  "infiniband controller": "0207",
  "fabric controller": "0208",
  "network controller": "0280",
  "vga compatible controller": "0300",
  "xga compatible controller": "0301",
  "3d controller": "0302",
  "display controller": "0380",
  "multimedia video controller": "0400",
  "multimedia audio controller": "0401",
  "audio device": "0403",
  "multimedia controller": "0480",
  "ram memory": "0500",
  "flash memory": "0501",
  "memory controller": "0580",
  "host bridge": "0600",
  "isa bridge": "0601",
  "eisa bridge": "0602",
  "pci bridge": "0604",
  "pcmcia bridge": "0605",
  "cardbus bridge": "0607",
  "semi-transparent pci-to-pci bridge": "0609",
  bridge: "0680",
  "serial controller": "0700",
  "parallel controller": "0701",
  "multiport serial controller": "0702",
  modem: "0703",
  "communication controller": "0780",
  pic: "0800",
  "dma controller": "0801",
  timer: "0802",
  rtc: "0803",
  "pci hot-plug controller": "0804",
  "sd host controller": "0805",
  iommu: "0806",
  "system peripheral": "0880",
  "generic system peripheral": "0880",
  "keyboard controller": "0900",
  "mouse controller": "0902",
  "input device controller": "0980",
  "co-processor": "0b40",
  processor: "0b80",
  "firewire (ieee 1394)": "0c00",
  "usb controller": "0c03",
  "fibre channel": "0c04",
  smbus: "0c05",
  infiniband: "0c06",
  "ipmi interface": "0c07",
  "serial bus controller": "0c80",
  bluetooth: "0d11",
  "wireless controller": "0d80",
  "network and computing encryption device": "1000",
  "encryption controller": "1080",
  "dpio module": "1100",
  "performance counters": "1101",
  "signal processing controller": "1180",
  "processing accelerators": "1200",
  "non-essential instrumentation": "1300",
  coprocessor: "4000",
  "unassigned class": "ff00",
};

/** Vendor names (pci.ids, with older spellings lspci still prints) to vendor ids. */
const VENDOR_IDS: readonly [name: string, id: string][] = [
  ["Advanced Micro Devices, Inc. [AMD/ATI]", "1002"],
  ["Advanced Micro Devices, Inc. [AMD]", "1022"],
  ["AMD Solarflare", "1924"],
  ["Solarflare Communications", "1924"],
  ["NVIDIA Corporation", "10de"],
  ["Intel Corporation", "8086"],
  ["Mellanox Technologies", "15b3"],
  ["Broadcom Inc. and subsidiaries", "14e4"],
  ["Broadcom Limited", "14e4"],
  ["Broadcom Corporation", "14e4"],
  ["Broadcom / LSI", "1000"],
  ["LSI Logic / Symbios Logic", "1000"],
  ["Realtek Semiconductor Co., Ltd.", "10ec"],
  ["Aquantia Corp.", "1d6a"],
  ["Qualcomm Atheros", "168c"],
  ["Qualcomm Technologies, Inc", "17cb"],
  ["MEDIATEK Corp.", "14c3"],
  ["QLogic Corp.", "1077"],
  ["Chelsio Communications Inc", "1425"],
  ["Emulex Corporation", "10df"],
  ["Cisco Systems Inc", "1137"],
  ["Huawei Technologies Co., Ltd.", "19e5"],
  ["Pensando Systems", "1dd8"],
  ["VMware", "15ad"],
  ["XenSource, Inc.", "5853"],
  ["Microsoft Corporation", "1414"],
  ["Amazon.com, Inc.", "1d0f"],
  ["Google, Inc.", "1ae0"],
  ["InnoTek Systemberatung GmbH", "80ee"],
  ["ASPEED Technology, Inc.", "1a03"],
  ["Matrox Electronics Systems Ltd.", "102b"],
  ["Cirrus Logic", "1013"],
  ["Xilinx Corporation", "10ee"],
  ["Global Unichip Corp.", "1ac1"],
  ["Hailo Technologies Ltd.", "1e60"],
  ["Tenstorrent Inc", "1e52"],
  ["Raspberry Pi Ltd", "1de4"],
];

/** The `ccss` class id of a class or subclass name, or undefined. */
export function classIdOfName(name: string): string | undefined {
  return Object.hasOwn(CLASS_IDS, name.toLowerCase()) ? CLASS_IDS[name.toLowerCase()] : undefined;
}

/**
 * The vendor of a plain device text (`NVIDIA Corporation GA102 [GeForce RTX 3090]`)
 * and the device part after it. Red Hat's two ids are told apart by the
 * device name (virtio devices are 1af4, QEMU's own 1b36).
 */
export function vendorOfText(text: string): { id: string; name: string; rest: string } | undefined {
  if (text.startsWith("Red Hat, Inc")) {
    const rest = text.replace(/^Red Hat, Inc\.?\s*/, "");
    return { id: /virtio/i.test(rest) ? "1af4" : "1b36", name: "Red Hat, Inc.", rest };
  }
  let best: [string, string] | undefined;
  for (const entry of VENDOR_IDS) {
    if (text.startsWith(`${entry[0]} `) || text === entry[0]) {
      if (!best || entry[0].length > best[0].length) best = entry;
    }
  }
  return best ? { id: best[1], name: best[0], rest: text.slice(best[0].length).trim() } : undefined;
}
