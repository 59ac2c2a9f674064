/** SMBIOS system information of a simulated machine. */
export interface SystemInfo {
  manufacturer: string;
  productName: string;
  version: string;
  serialNumber: string;
  uuid: string;
  wakeUpType: string;
  skuNumber: string;
  biosVersion: string;
}

/** One SMBIOS processor (socket). */
export interface ProcessorInfo {
  socket: string;
  manufacturer: string;
  productName: string;
  maxSpeedMhz: number;
  bootSpeedMhz: number;
  coreCount: number;
  threadCount: number;
}

/** CPU identity as /proc/cpuinfo shows it (for CPUCores on Talos 1.14+). */
export interface CpuInfo {
  vendorId: string;
  cpuFamily: string;
  model: string;
  modelName: string;
  stepping: string;
  flags: string[];
  bogoMips: number;
  addressSizes: string;
}

/** One memory module; `UNKNOWN` locators when the machine has no SMBIOS. */
export interface MemoryModuleInfo {
  sizeMiB: number;
  deviceLocator: string;
  bankLocator: string;
  speed: number;
  manufacturer: string;
  productName: string;
}

/** One PCI device; ids are lower-case hex with `0x`, names as in pci.ids. */
export interface PciDeviceInfo {
  /** sysfs name, e.g. `0000:17:00.0` */
  id: string;
  class: string;
  subclass: string;
  vendor: string;
  product: string;
  classId: string;
  subclassId: string;
  vendorId: string;
  productId: string;
  driver: string;
}

/** One block device. */
export interface DiskInfo {
  id: string;
  sizeBytes: number;
  model: string;
  serial: string;
  transport: string;
  rotational: boolean;
}

/** Everything the simulator knows about a kind of machine. */
export interface HardwareProfile {
  description: string;
  arch: "amd64" | "arm64";
  /** Board model for single-board computers (device-tree model). */
  boardModel?: string;
  /** The device tree's compatible strings, most specific first (SBCs). */
  boardCompatible?: string[];
  /** Hypervisor name for virtual machines. */
  hypervisor?: string;
  /** The Talos platform such a machine boots (PlatformMetadata); metal unless given. */
  platform?: string;
  system: SystemInfo;
  processors: ProcessorInfo[];
  cpu: CpuInfo;
  memoryModules: MemoryModuleInfo[];
  pciDevices: PciDeviceInfo[];
  disks: DiskInfo[];
}

/** Names of the built-in hardware profiles. */
export type HardwareProfileName =
  | "nvidia-hgx-server"
  | "nvidia-rtx-workstation"
  | "nvidia-pascal-desktop"
  | "amd-gpu-node"
  | "radeon-workstation"
  | "intel-nuc"
  | "proxmox-vm"
  | "vmware-vm"
  | "hyperv-vm"
  | "aws-instance"
  | "raspberry-pi-4"
  | "raspberry-pi-5"
  | "rock-5b"
  | "strix-halo";

const CLASS = {
  display: ["Display controller", "0x03"],
  network: ["Network controller", "0x02"],
  storage: ["Mass storage controller", "0x01"],
  bridge: ["Bridge", "0x06"],
  accel: ["Processing accelerators", "0x12"],
  multimedia: ["Multimedia controller", "0x04"],
  serial: ["Serial bus controller", "0x0c"],
  system: ["Generic system peripheral", "0x08"],
  unclassified: ["Unclassified device", "0x00"],
} as const;

type ClassKey = keyof typeof CLASS;

function pci(
  id: string,
  cls: ClassKey,
  subclass: string,
  subclassId: string,
  vendor: string,
  vendorId: string,
  product: string,
  productId: string,
  driver: string,
): PciDeviceInfo {
  const [className, classId] = CLASS[cls];
  return {
    id,
    class: className,
    subclass,
    classId,
    subclassId,
    vendor,
    vendorId,
    product,
    productId,
    driver,
  };
}

function dimms(
  n: number,
  sizeMiB: number,
  speed: number,
  manufacturer: string,
  productName: string,
): MemoryModuleInfo[] {
  return Array.from({ length: n }, (_, i) => ({
    sizeMiB,
    deviceLocator: `DIMM ${String.fromCharCode(65 + (i % 8))}${Math.floor(i / 8) + 1}`,
    bankLocator: `P${Math.floor(i / 16)}_Node${Math.floor(i / 16)}_Channel${String.fromCharCode(65 + (i % 8))}_Dimm${Math.floor(i / 8) % 2}`,
    speed,
    manufacturer,
    productName,
  }));
}

/** SMBIOS of a board without it (SBCs): every field empty. */
const NO_SMBIOS: SystemInfo = {
  manufacturer: "",
  productName: "",
  version: "",
  serialNumber: "",
  uuid: "",
  wakeUpType: "",
  skuNumber: "",
  biosVersion: "",
};

/** The one memory region an SBC reports, without DIMM details. */
function boardMemory(sizeMiB: number): MemoryModuleInfo[] {
  return [
    {
      sizeMiB,
      deviceLocator: "UNKNOWN",
      bankLocator: "",
      speed: 0,
      manufacturer: "",
      productName: "",
    },
  ];
}

/** The CPU of the Raspberry Pi 5 and the RK3588's big cores, as /proc/cpuinfo shows it. */
const CORTEX_A76: CpuInfo = {
  vendorId: "ARM",
  cpuFamily: "",
  model: "",
  modelName: "Cortex-A76",
  stepping: "",
  flags: ["fp", "asimd", "evtstrm", "aes", "pmull", "sha1", "sha2", "crc32", "atomics", "cpuid"],
  bogoMips: 108,
  addressSizes: "",
};

/** The Realtek 2.5GbE NIC of many desktops and mini PCs. */
const rtl8125 = (slot: string) =>
  pci(
    slot,
    "network",
    "Ethernet controller",
    "0x00",
    "Realtek Semiconductor Co., Ltd.",
    "0x10ec",
    "RTL8125 2.5GbE Controller",
    "0x8125",
    "r8169",
  );

const NVIDIA = "NVIDIA Corporation";
const INTEL = "Intel Corporation";
const AMD_ATI = "Advanced Micro Devices, Inc. [AMD/ATI]";
const REDHAT = "Red Hat, Inc.";
const AMD_CPU = "Advanced Micro Devices, Inc. [AMD]";
const SAMSUNG = "Samsung Electronics Co Ltd";
const AMAZON = "Amazon.com, Inc.";
const BROADCOM = "Broadcom Inc. and subsidiaries";
const ASPEED = "ASPEED Technology, Inc.";

const X86_FLAGS = [
  "fpu",
  "vme",
  "de",
  "pse",
  "tsc",
  "msr",
  "pae",
  "mce",
  "cx8",
  "apic",
  "sse",
  "sse2",
  "ht",
  "syscall",
  "nx",
  "lm",
  "avx",
  "avx2",
];

/** Built-in hardware profiles with real PCI vendor and device IDs. */
export const hardwareProfiles: Record<HardwareProfileName, HardwareProfile> = {
  "nvidia-hgx-server": {
    description: "8x NVIDIA H100 SXM HGX server with NVSwitch, ConnectX-7, X710 and MegaRAID",
    arch: "amd64",
    system: {
      manufacturer: "Supermicro",
      productName: "SYS-821GE-TNHR",
      version: "0123456789",
      serialNumber: "S892134X3A17215",
      uuid: "4c4c4544-0042-3310-8052-b7c04f4e3633",
      wakeUpType: "Power Switch",
      skuNumber: "To be filled by O.E.M.",
      biosVersion: "2.1",
    },
    processors: [0, 1].map((i) => ({
      socket: `CPU${i + 1}`,
      manufacturer: "Intel(R) Corporation",
      productName: "Intel(R) Xeon(R) Platinum 8480+",
      maxSpeedMhz: 4000,
      bootSpeedMhz: 2000,
      coreCount: 56,
      threadCount: 112,
    })),
    cpu: {
      vendorId: "GenuineIntel",
      cpuFamily: "6",
      model: "143",
      modelName: "Intel(R) Xeon(R) Platinum 8480+",
      stepping: "8",
      flags: [...X86_FLAGS, "avx512f", "amx_tile"],
      bogoMips: 4000,
      addressSizes: "46 bits physical, 57 bits virtual",
    },
    memoryModules: dimms(32, 65536, 4800, "Samsung", "M321R8GA0BB0-CQKZJ"),
    pciDevices: [
      pci("0000:00:00.0", "bridge", "Host bridge", "0x00", INTEL, "0x8086", "Device", "0x09a2", ""),
      pci(
        "0000:00:01.0",
        "system",
        "System peripheral",
        "0x80",
        INTEL,
        "0x8086",
        "Device",
        "0x0b00",
        "",
      ),
      pci(
        "0000:03:00.0",
        "display",
        "VGA compatible controller",
        "0x00",
        ASPEED,
        "0x1a03",
        "ASPEED Graphics Family",
        "0x2000",
        "ast",
      ),
      pci(
        "0000:18:00.0",
        "network",
        "Infiniband controller",
        "0x07",
        "Mellanox Technologies",
        "0x15b3",
        "MT2910 Family [ConnectX-7]",
        "0x1021",
        "mlx5_core",
      ),
      pci(
        "0000:19:00.0",
        "display",
        "3D controller",
        "0x02",
        NVIDIA,
        "0x10de",
        "GH100 [H100 SXM5 80GB]",
        "0x2330",
        "nvidia",
      ),
      pci(
        "0000:2a:00.0",
        "network",
        "Infiniband controller",
        "0x07",
        "Mellanox Technologies",
        "0x15b3",
        "MT2910 Family [ConnectX-7]",
        "0x1021",
        "mlx5_core",
      ),
      pci(
        "0000:3b:00.0",
        "display",
        "3D controller",
        "0x02",
        NVIDIA,
        "0x10de",
        "GH100 [H100 SXM5 80GB]",
        "0x2330",
        "nvidia",
      ),
      pci(
        "0000:4c:00.0",
        "display",
        "3D controller",
        "0x02",
        NVIDIA,
        "0x10de",
        "GH100 [H100 SXM5 80GB]",
        "0x2330",
        "nvidia",
      ),
      pci(
        "0000:5d:00.0",
        "display",
        "3D controller",
        "0x02",
        NVIDIA,
        "0x10de",
        "GH100 [H100 SXM5 80GB]",
        "0x2330",
        "nvidia",
      ),
      pci(
        "0000:6a:00.0",
        "network",
        "Ethernet controller",
        "0x00",
        INTEL,
        "0x8086",
        "Ethernet Controller X710 for 10GBASE-T",
        "0x15ff",
        "i40e",
      ),
      pci(
        "0000:7b:00.0",
        "storage",
        "RAID bus controller",
        "0x04",
        "Broadcom / LSI",
        "0x1000",
        "MegaRAID 12GSAS/PCIe Secure SAS39xx",
        "0x10e2",
        "megaraid_sas",
      ),
      pci(
        "0000:9b:00.0",
        "display",
        "3D controller",
        "0x02",
        NVIDIA,
        "0x10de",
        "GH100 [H100 SXM5 80GB]",
        "0x2330",
        "nvidia",
      ),
      pci(
        "0000:bb:00.0",
        "display",
        "3D controller",
        "0x02",
        NVIDIA,
        "0x10de",
        "GH100 [H100 SXM5 80GB]",
        "0x2330",
        "nvidia",
      ),
      pci(
        "0000:c5:00.0",
        "bridge",
        "Bridge",
        "0x80",
        NVIDIA,
        "0x10de",
        "GH100 [H100 NVSwitch]",
        "0x22a3",
        "",
      ),
      pci(
        "0000:c6:00.0",
        "bridge",
        "Bridge",
        "0x80",
        NVIDIA,
        "0x10de",
        "GH100 [H100 NVSwitch]",
        "0x22a3",
        "",
      ),
      pci(
        "0000:c7:00.0",
        "bridge",
        "Bridge",
        "0x80",
        NVIDIA,
        "0x10de",
        "GH100 [H100 NVSwitch]",
        "0x22a3",
        "",
      ),
      pci(
        "0000:c8:00.0",
        "bridge",
        "Bridge",
        "0x80",
        NVIDIA,
        "0x10de",
        "GH100 [H100 NVSwitch]",
        "0x22a3",
        "",
      ),
      pci(
        "0000:cb:00.0",
        "display",
        "3D controller",
        "0x02",
        NVIDIA,
        "0x10de",
        "GH100 [H100 SXM5 80GB]",
        "0x2330",
        "nvidia",
      ),
      pci(
        "0000:db:00.0",
        "display",
        "3D controller",
        "0x02",
        NVIDIA,
        "0x10de",
        "GH100 [H100 SXM5 80GB]",
        "0x2330",
        "nvidia",
      ),
      pci(
        "0000:e4:00.0",
        "storage",
        "Non-Volatile memory controller",
        "0x08",
        SAMSUNG,
        "0x144d",
        "NVMe SSD Controller PM9A1/PM9A3/980PRO",
        "0xa80a",
        "nvme",
      ),
    ],
    disks: [
      {
        id: "nvme0n1",
        sizeBytes: 3_840_755_982_336,
        model: "SAMSUNG MZQL23T8HCLS-00A07",
        serial: "S64HNE0T700123",
        transport: "nvme",
        rotational: false,
      },
    ],
  },
  "nvidia-rtx-workstation": {
    description:
      "AMD Ryzen workstation with an NVIDIA GeForce RTX 3090, Realtek 2.5GbE and MediaTek Wi-Fi",
    arch: "amd64",
    system: {
      manufacturer: "ASUS",
      productName: "ROG CROSSHAIR VIII HERO",
      version: "Rev 1.xx",
      serialNumber: "System Serial Number",
      uuid: "a1b2c3d4-e5f6-4789-8abc-0123456789ab",
      wakeUpType: "Power Switch",
      skuNumber: "SKU",
      biosVersion: "1813",
    },
    processors: [
      {
        socket: "AM4",
        manufacturer: "Advanced Micro Devices, Inc.",
        productName: "AMD Ryzen 9 5950X 16-Core Processor",
        maxSpeedMhz: 4900,
        bootSpeedMhz: 3400,
        coreCount: 16,
        threadCount: 32,
      },
    ],
    cpu: {
      vendorId: "AuthenticAMD",
      cpuFamily: "25",
      model: "33",
      modelName: "AMD Ryzen 9 5950X 16-Core Processor",
      stepping: "0",
      flags: [...X86_FLAGS, "svm"],
      bogoMips: 6787.3,
      addressSizes: "48 bits physical, 48 bits virtual",
    },
    memoryModules: dimms(2, 32768, 3600, "G Skill Intl", "F4-3600C16-32GTZNC"),
    pciDevices: [
      pci(
        "0000:00:00.0",
        "bridge",
        "Host bridge",
        "0x00",
        AMD_CPU,
        "0x1022",
        "Starship/Matisse Root Complex",
        "0x1480",
        "",
      ),
      pci(
        "0000:01:00.0",
        "storage",
        "Non-Volatile memory controller",
        "0x08",
        SAMSUNG,
        "0x144d",
        "NVMe SSD Controller PM9A1/PM9A3/980PRO",
        "0xa80a",
        "nvme",
      ),
      pci(
        "0000:05:00.0",
        "network",
        "Network controller",
        "0x80",
        "MEDIATEK Corp.",
        "0x14c3",
        "MT7922 802.11ax PCI Express Wireless Network Adapter",
        "0x0616",
        "mt7921e",
      ),
      rtl8125("0000:06:00.0"),
      pci(
        "0000:0b:00.0",
        "display",
        "VGA compatible controller",
        "0x00",
        NVIDIA,
        "0x10de",
        "GA102 [GeForce RTX 3090]",
        "0x2204",
        "nvidia",
      ),
      pci(
        "0000:0b:00.1",
        "multimedia",
        "Audio device",
        "0x03",
        NVIDIA,
        "0x10de",
        "GA102 High Definition Audio Controller",
        "0x1aef",
        "snd_hda_intel",
      ),
      pci(
        "0000:0d:00.3",
        "serial",
        "USB controller",
        "0x03",
        AMD_CPU,
        "0x1022",
        "Matisse USB 3.0 Host Controller",
        "0x149c",
        "xhci_hcd",
      ),
    ],
    disks: [
      {
        id: "nvme0n1",
        sizeBytes: 2_000_398_934_016,
        model: "Samsung SSD 980 PRO 2TB",
        serial: "S6B0NL0W123456",
        transport: "nvme",
        rotational: false,
      },
    ],
  },
  "nvidia-pascal-desktop": {
    description:
      "Older Intel desktop with an NVIDIA GeForce GTX 1080 Ti (Pascal), HD Graphics 630 and Intel I219-V",
    arch: "amd64",
    system: {
      manufacturer: "Dell Inc.",
      productName: "OptiPlex 7050",
      version: "",
      serialNumber: "5CG7D12",
      uuid: "4c4c4544-0043-4710-8044-b5c04f443132",
      wakeUpType: "Power Switch",
      skuNumber: "07A1",
      biosVersion: "1.24.0",
    },
    processors: [
      {
        socket: "CPU 1",
        manufacturer: "Intel(R) Corporation",
        productName: "Intel(R) Core(TM) i7-7700K CPU @ 4.20GHz",
        maxSpeedMhz: 8300,
        bootSpeedMhz: 4200,
        coreCount: 4,
        threadCount: 8,
      },
    ],
    cpu: {
      vendorId: "GenuineIntel",
      cpuFamily: "6",
      model: "158",
      modelName: "Intel(R) Core(TM) i7-7700K CPU @ 4.20GHz",
      stepping: "9",
      flags: X86_FLAGS,
      bogoMips: 8400,
      addressSizes: "39 bits physical, 48 bits virtual",
    },
    memoryModules: dimms(2, 8192, 2400, "Hynix/Hyundai", "HMA81GU6AFR8N-UH"),
    pciDevices: [
      pci(
        "0000:00:00.0",
        "bridge",
        "Host bridge",
        "0x00",
        INTEL,
        "0x8086",
        "Xeon E3-1200 v6/7th Gen Core Processor Host Bridge/DRAM Registers",
        "0x591f",
        "skl_uncore",
      ),
      pci(
        "0000:00:02.0",
        "display",
        "VGA compatible controller",
        "0x00",
        INTEL,
        "0x8086",
        "HD Graphics 630",
        "0x5912",
        "i915",
      ),
      pci(
        "0000:00:1f.6",
        "network",
        "Ethernet controller",
        "0x00",
        INTEL,
        "0x8086",
        "Ethernet Connection (2) I219-V",
        "0x15b8",
        "e1000e",
      ),
      pci(
        "0000:01:00.0",
        "display",
        "VGA compatible controller",
        "0x00",
        NVIDIA,
        "0x10de",
        "GP102 [GeForce GTX 1080 Ti]",
        "0x1b06",
        "nouveau",
      ),
      pci(
        "0000:01:00.1",
        "multimedia",
        "Audio device",
        "0x03",
        NVIDIA,
        "0x10de",
        "GP102 HDMI Audio Controller",
        "0x10ef",
        "snd_hda_intel",
      ),
    ],
    disks: [
      {
        id: "sda",
        sizeBytes: 500_107_862_016,
        model: "Samsung SSD 850",
        serial: "S2RBNX0J123456",
        transport: "sata",
        rotational: false,
      },
    ],
  },
  "amd-gpu-node": {
    description: "AMD EPYC server with 8x AMD Instinct MI300X, Broadcom BCM57508 and ASPEED BMC",
    arch: "amd64",
    system: {
      manufacturer: "Supermicro",
      productName: "AS -8125GS-TNMR2",
      version: "0123456789",
      serialNumber: "S919327X4B05112",
      uuid: "4c4c4544-0058-4b10-8032-b7c04f4d3334",
      wakeUpType: "Power Switch",
      skuNumber: "To be filled by O.E.M.",
      biosVersion: "1.8",
    },
    processors: [0, 1].map((i) => ({
      socket: `CPU${i + 1}`,
      manufacturer: "Advanced Micro Devices, Inc.",
      productName: "AMD EPYC 9654 96-Core Processor",
      maxSpeedMhz: 3700,
      bootSpeedMhz: 2400,
      coreCount: 96,
      threadCount: 192,
    })),
    cpu: {
      vendorId: "AuthenticAMD",
      cpuFamily: "25",
      model: "17",
      modelName: "AMD EPYC 9654 96-Core Processor",
      stepping: "1",
      flags: [...X86_FLAGS, "svm", "avx512f"],
      bogoMips: 4792.8,
      addressSizes: "52 bits physical, 57 bits virtual",
    },
    memoryModules: dimms(24, 98304, 4800, "Micron Technology", "MTC40F2046S1RC48BA1"),
    pciDevices: [
      pci(
        "0000:00:00.0",
        "bridge",
        "Host bridge",
        "0x00",
        AMD_CPU,
        "0x1022",
        "Genoa/Bergamo Root Complex",
        "0x14a4",
        "",
      ),
      pci(
        "0000:05:00.0",
        "accel",
        "Processing accelerators",
        "0x00",
        AMD_ATI,
        "0x1002",
        "Aqua Vanjaram [Instinct MI300X]",
        "0x74a1",
        "amdgpu",
      ),
      pci(
        "0000:25:00.0",
        "accel",
        "Processing accelerators",
        "0x00",
        AMD_ATI,
        "0x1002",
        "Aqua Vanjaram [Instinct MI300X]",
        "0x74a1",
        "amdgpu",
      ),
      pci(
        "0000:45:00.0",
        "accel",
        "Processing accelerators",
        "0x00",
        AMD_ATI,
        "0x1002",
        "Aqua Vanjaram [Instinct MI300X]",
        "0x74a1",
        "amdgpu",
      ),
      pci(
        "0000:65:00.0",
        "accel",
        "Processing accelerators",
        "0x00",
        AMD_ATI,
        "0x1002",
        "Aqua Vanjaram [Instinct MI300X]",
        "0x74a1",
        "amdgpu",
      ),
      pci(
        "0000:85:00.0",
        "accel",
        "Processing accelerators",
        "0x00",
        AMD_ATI,
        "0x1002",
        "Aqua Vanjaram [Instinct MI300X]",
        "0x74a1",
        "amdgpu",
      ),
      pci(
        "0000:a5:00.0",
        "accel",
        "Processing accelerators",
        "0x00",
        AMD_ATI,
        "0x1002",
        "Aqua Vanjaram [Instinct MI300X]",
        "0x74a1",
        "amdgpu",
      ),
      pci(
        "0000:c1:00.0",
        "network",
        "Ethernet controller",
        "0x00",
        BROADCOM,
        "0x14e4",
        "BCM57508 NetXtreme-E 10Gb/25Gb/40Gb/50Gb/100Gb/200Gb Ethernet",
        "0x1750",
        "bnxt_en",
      ),
      pci(
        "0000:c2:00.0",
        "display",
        "VGA compatible controller",
        "0x00",
        ASPEED,
        "0x1a03",
        "ASPEED Graphics Family",
        "0x2000",
        "ast",
      ),
      pci(
        "0000:c5:00.0",
        "accel",
        "Processing accelerators",
        "0x00",
        AMD_ATI,
        "0x1002",
        "Aqua Vanjaram [Instinct MI300X]",
        "0x74a1",
        "amdgpu",
      ),
      pci(
        "0000:e5:00.0",
        "accel",
        "Processing accelerators",
        "0x00",
        AMD_ATI,
        "0x1002",
        "Aqua Vanjaram [Instinct MI300X]",
        "0x74a1",
        "amdgpu",
      ),
      pci(
        "0000:e8:00.0",
        "storage",
        "Non-Volatile memory controller",
        "0x08",
        SAMSUNG,
        "0x144d",
        "NVMe SSD Controller PM173X",
        "0xa824",
        "nvme",
      ),
    ],
    disks: [
      {
        id: "nvme0n1",
        sizeBytes: 3_840_755_982_336,
        model: "Dell Ent NVMe CM6 RI 3.84TB",
        serial: "Y1A0A0123456",
        transport: "nvme",
        rotational: false,
      },
    ],
  },
  "radeon-workstation": {
    description: "AMD Ryzen workstation with a Radeon RX 7900 XTX, Intel I211 and Aquantia AQC107",
    arch: "amd64",
    system: {
      manufacturer: "ASRock",
      productName: "X570 Taichi",
      version: "",
      serialNumber: "M80-C8012345678",
      uuid: "03000200-0400-0500-0006-000700080009",
      wakeUpType: "Power Switch",
      skuNumber: "",
      biosVersion: "P5.00",
    },
    processors: [
      {
        socket: "AM4",
        manufacturer: "Advanced Micro Devices, Inc.",
        productName: "AMD Ryzen 9 3950X 16-Core Processor",
        maxSpeedMhz: 4700,
        bootSpeedMhz: 3500,
        coreCount: 16,
        threadCount: 32,
      },
    ],
    cpu: {
      vendorId: "AuthenticAMD",
      cpuFamily: "23",
      model: "113",
      modelName: "AMD Ryzen 9 3950X 16-Core Processor",
      stepping: "0",
      flags: [...X86_FLAGS, "svm"],
      bogoMips: 7000.1,
      addressSizes: "43 bits physical, 48 bits virtual",
    },
    memoryModules: dimms(4, 16384, 3200, "Corsair", "CMK64GX4M4E3200C16"),
    pciDevices: [
      pci(
        "0000:00:00.0",
        "bridge",
        "Host bridge",
        "0x00",
        AMD_CPU,
        "0x1022",
        "Starship/Matisse Root Complex",
        "0x1480",
        "",
      ),
      pci(
        "0000:21:00.0",
        "network",
        "Ethernet controller",
        "0x00",
        INTEL,
        "0x8086",
        "I211 Gigabit Network Connection",
        "0x1539",
        "igb",
      ),
      pci(
        "0000:22:00.0",
        "network",
        "Ethernet controller",
        "0x00",
        "Aquantia Corp.",
        "0x1d6a",
        "AQC107 NBase-T/IEEE 802.3bz Ethernet Controller [AQtion]",
        "0x07b1",
        "atlantic",
      ),
      pci(
        "0000:4c:00.0",
        "display",
        "VGA compatible controller",
        "0x00",
        AMD_ATI,
        "0x1002",
        "Navi 31 [Radeon RX 7900 XT/7900 XTX]",
        "0x744c",
        "amdgpu",
      ),
      pci(
        "0000:4c:00.1",
        "multimedia",
        "Audio device",
        "0x03",
        AMD_ATI,
        "0x1002",
        "Navi 31 HDMI/DP Audio",
        "0xab30",
        "snd_hda_intel",
      ),
    ],
    disks: [
      {
        id: "nvme0n1",
        sizeBytes: 2_000_398_934_016,
        model: "WD_BLACK SN850X 2000GB",
        serial: "23415K800123",
        transport: "nvme",
        rotational: false,
      },
    ],
  },
  "intel-nuc": {
    description:
      "Intel NUC 12 Pro (Alder Lake-P) with Iris Xe graphics, Thunderbolt 4, Wi-Fi and I225-LM 2.5GbE",
    arch: "amd64",
    system: {
      manufacturer: "Intel(R) Client Systems",
      productName: "NUC12WSHi7",
      version: "M46425-302",
      serialNumber: "G6WS2310012A",
      uuid: "6a1e2f3c-8b21-4d7e-9c02-88aef0c1d2e3",
      wakeUpType: "Power Switch",
      skuNumber: "RNUC12WSHI70000",
      biosVersion: "WSADL357.0088.2023.0505.1623",
    },
    processors: [
      {
        socket: "U3E1",
        manufacturer: "Intel(R) Corporation",
        productName: "12th Gen Intel(R) Core(TM) i7-1260P",
        maxSpeedMhz: 4700,
        bootSpeedMhz: 2100,
        coreCount: 12,
        threadCount: 16,
      },
    ],
    cpu: {
      vendorId: "GenuineIntel",
      cpuFamily: "6",
      model: "154",
      modelName: "12th Gen Intel(R) Core(TM) i7-1260P",
      stepping: "3",
      flags: X86_FLAGS,
      bogoMips: 4992,
      addressSizes: "39 bits physical, 48 bits virtual",
    },
    memoryModules: dimms(2, 16384, 3200, "Crucial Technology", "CT16G4SFRA32A.M16FR"),
    pciDevices: [
      pci("0000:00:00.0", "bridge", "Host bridge", "0x00", INTEL, "0x8086", "Device", "0x4621", ""),
      pci(
        "0000:00:02.0",
        "display",
        "VGA compatible controller",
        "0x00",
        INTEL,
        "0x8086",
        "Alder Lake-P GT2 [Iris Xe Graphics]",
        "0x46a6",
        "i915",
      ),
      pci(
        "0000:00:07.0",
        "bridge",
        "PCI bridge",
        "0x04",
        INTEL,
        "0x8086",
        "Alder Lake-P Thunderbolt 4 PCI Express Root Port #0",
        "0x466e",
        "pcieport",
      ),
      pci(
        "0000:00:0d.0",
        "serial",
        "USB controller",
        "0x03",
        INTEL,
        "0x8086",
        "Alder Lake-P Thunderbolt 4 USB Controller",
        "0x461e",
        "xhci_hcd",
      ),
      pci(
        "0000:00:0d.2",
        "serial",
        "USB controller",
        "0x03",
        INTEL,
        "0x8086",
        "Alder Lake-P Thunderbolt 4 NHI #0",
        "0x463e",
        "thunderbolt",
      ),
      pci(
        "0000:00:14.3",
        "network",
        "Network controller",
        "0x80",
        INTEL,
        "0x8086",
        "Alder Lake-P PCH CNVi WiFi",
        "0x51f0",
        "iwlwifi",
      ),
      pci(
        "0000:57:00.0",
        "network",
        "Ethernet controller",
        "0x00",
        INTEL,
        "0x8086",
        "Ethernet Controller I225-LM",
        "0x15f2",
        "igc",
      ),
      pci(
        "0000:58:00.0",
        "storage",
        "Non-Volatile memory controller",
        "0x08",
        SAMSUNG,
        "0x144d",
        "NVMe SSD Controller 980",
        "0xa809",
        "nvme",
      ),
    ],
    disks: [
      {
        id: "nvme0n1",
        sizeBytes: 1_000_204_886_016,
        model: "Samsung SSD 980 PRO 1TB",
        serial: "S5GXNX0T654321",
        transport: "nvme",
        rotational: false,
      },
    ],
  },
  "proxmox-vm": {
    description: "Proxmox VE (QEMU/KVM, q35) virtual machine with virtio devices",
    arch: "amd64",
    hypervisor: "kvm",
    system: {
      manufacturer: "QEMU",
      productName: "Standard PC (Q35 + ICH9, 2009)",
      version: "pc-q35-8.1",
      serialNumber: "",
      uuid: "2f0e6a1e-5d7c-4b4e-9f6e-0c4b1d2a3e4f",
      wakeUpType: "Power Switch",
      skuNumber: "",
      biosVersion: "4.2023.08-4",
    },
    processors: [
      {
        socket: "CPU 0",
        manufacturer: "QEMU",
        productName: "pc-q35-8.1",
        maxSpeedMhz: 2000,
        bootSpeedMhz: 2000,
        coreCount: 4,
        threadCount: 4,
      },
    ],
    cpu: {
      vendorId: "GenuineIntel",
      cpuFamily: "6",
      model: "85",
      modelName: "Common KVM processor",
      stepping: "7",
      flags: [...X86_FLAGS, "hypervisor"],
      bogoMips: 4190,
      addressSizes: "40 bits physical, 48 bits virtual",
    },
    memoryModules: [
      {
        sizeMiB: 8192,
        deviceLocator: "DIMM 0",
        bankLocator: "",
        speed: 0,
        manufacturer: "QEMU",
        productName: "",
      },
    ],
    pciDevices: [
      pci(
        "0000:00:00.0",
        "bridge",
        "Host bridge",
        "0x00",
        INTEL,
        "0x8086",
        "82G33/G31/P35/P31 Express DRAM Controller",
        "0x29c0",
        "",
      ),
      pci(
        "0000:00:01.0",
        "display",
        "VGA compatible controller",
        "0x00",
        "",
        "0x1234",
        "Device",
        "0x1111",
        "bochs-drm",
      ),
      pci(
        "0000:00:1f.2",
        "storage",
        "SATA controller",
        "0x06",
        INTEL,
        "0x8086",
        "82801IR/IO/IH (ICH9R/DO/DH) 6 port SATA Controller [AHCI mode]",
        "0x2922",
        "ahci",
      ),
      pci(
        "0000:01:01.0",
        "storage",
        "SCSI storage controller",
        "0x00",
        REDHAT,
        "0x1af4",
        "Virtio SCSI",
        "0x1004",
        "virtio-pci",
      ),
      pci(
        "0000:06:12.0",
        "network",
        "Ethernet controller",
        "0x00",
        REDHAT,
        "0x1af4",
        "Virtio network device",
        "0x1000",
        "virtio-pci",
      ),
    ],
    disks: [
      {
        id: "sda",
        sizeBytes: 34_359_738_368,
        model: "QEMU HARDDISK",
        serial: "drive-scsi0",
        transport: "virtio",
        rotational: true,
      },
    ],
  },
  "vmware-vm": {
    description: "VMware ESXi virtual machine with vmxnet3 and PVSCSI",
    arch: "amd64",
    platform: "vmware",
    hypervisor: "vmware",
    system: {
      manufacturer: "VMware, Inc.",
      productName: "VMware7,1",
      version: "None",
      serialNumber: "VMware-42 1a 2b 3c 4d 5e 6f 70-81 92 a3 b4 c5 d6 e7 f8",
      uuid: "421a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8",
      wakeUpType: "Power Switch",
      skuNumber: "",
      biosVersion: "VMW71.00V.21100432.B64.2301110304",
    },
    processors: [
      {
        socket: "CPU #000",
        manufacturer: "GenuineIntel",
        productName: "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz",
        maxSpeedMhz: 4000,
        bootSpeedMhz: 2000,
        coreCount: 4,
        threadCount: 4,
      },
    ],
    cpu: {
      vendorId: "GenuineIntel",
      cpuFamily: "6",
      model: "106",
      modelName: "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz",
      stepping: "6",
      flags: [...X86_FLAGS, "hypervisor"],
      bogoMips: 3990,
      addressSizes: "45 bits physical, 48 bits virtual",
    },
    memoryModules: [
      {
        sizeMiB: 16384,
        deviceLocator: "RAM slot #0",
        bankLocator: "RAM slot #0",
        speed: 0,
        manufacturer: "VMware Virtual RAM",
        productName: "VMW-16384MB",
      },
    ],
    pciDevices: [
      pci(
        "0000:00:00.0",
        "bridge",
        "Host bridge",
        "0x00",
        INTEL,
        "0x8086",
        "440BX/ZX/DX - 82443BX/ZX/DX Host bridge",
        "0x7190",
        "",
      ),
      pci(
        "0000:00:07.7",
        "system",
        "System peripheral",
        "0x80",
        "VMware",
        "0x15ad",
        "Virtual Machine Communication Interface",
        "0x0740",
        "vmw_vmci",
      ),
      pci(
        "0000:00:0f.0",
        "display",
        "VGA compatible controller",
        "0x00",
        "VMware",
        "0x15ad",
        "SVGA II Adapter",
        "0x0405",
        "vmwgfx",
      ),
      pci(
        "0000:03:00.0",
        "storage",
        "Serial Attached SCSI controller",
        "0x07",
        "VMware",
        "0x15ad",
        "PVSCSI SCSI Controller",
        "0x07c0",
        "vmw_pvscsi",
      ),
      pci(
        "0000:0b:00.0",
        "network",
        "Ethernet controller",
        "0x00",
        "VMware",
        "0x15ad",
        "VMXNET3 Ethernet Controller",
        "0x07b0",
        "vmxnet3",
      ),
    ],
    disks: [
      {
        id: "sda",
        sizeBytes: 68_719_476_736,
        model: "Virtual disk",
        serial: "6000c29a1b2c3d4e5f60718293a4b5c6",
        transport: "scsi",
        rotational: true,
      },
    ],
  },
  "hyperv-vm": {
    description:
      "Microsoft Hyper-V generation 1 virtual machine (PIIX4 chipset, VMBus NIC and disks)",
    arch: "amd64",
    hypervisor: "microsoft",
    system: {
      manufacturer: "Microsoft Corporation",
      productName: "Virtual Machine",
      version: "Hyper-V BIOS Release v1.0",
      serialNumber: "0000-0011-2233-4455-6677-8899-10",
      uuid: "d2e4f6a8-1b3c-4d5e-8f70-9a1b2c3d4e5f",
      wakeUpType: "Power Switch",
      skuNumber: "None",
      biosVersion: "090008",
    },
    processors: [
      {
        socket: "None",
        manufacturer: "Intel(R) Corporation",
        productName: "Intel(R) Xeon(R) CPU E5-2673 v4 @ 2.30GHz",
        maxSpeedMhz: 3700,
        bootSpeedMhz: 2300,
        coreCount: 2,
        threadCount: 4,
      },
    ],
    cpu: {
      vendorId: "GenuineIntel",
      cpuFamily: "6",
      model: "79",
      modelName: "Intel(R) Xeon(R) CPU E5-2673 v4 @ 2.30GHz",
      stepping: "1",
      flags: [...X86_FLAGS, "hypervisor"],
      bogoMips: 4589.4,
      addressSizes: "44 bits physical, 48 bits virtual",
    },
    memoryModules: [
      {
        sizeMiB: 8192,
        deviceLocator: "M0001",
        bankLocator: "None",
        speed: 0,
        manufacturer: "Microsoft Corporation",
        productName: "None",
      },
    ],
    pciDevices: [
      pci(
        "0000:00:00.0",
        "bridge",
        "Host bridge",
        "0x00",
        INTEL,
        "0x8086",
        "440BX/ZX/DX - 82443BX/ZX/DX Host bridge (AGP disabled)",
        "0x7192",
        "",
      ),
      pci(
        "0000:00:07.0",
        "bridge",
        "ISA bridge",
        "0x01",
        INTEL,
        "0x8086",
        "82371AB/EB/MB PIIX4 ISA",
        "0x7110",
        "",
      ),
      pci(
        "0000:00:07.1",
        "storage",
        "IDE interface",
        "0x01",
        INTEL,
        "0x8086",
        "82371AB/EB/MB PIIX4 IDE",
        "0x7111",
        "ata_piix",
      ),
      pci(
        "0000:00:07.3",
        "bridge",
        "Bridge",
        "0x80",
        INTEL,
        "0x8086",
        "82371AB/EB/MB PIIX4 ACPI",
        "0x7113",
        "",
      ),
      pci(
        "0000:00:08.0",
        "display",
        "VGA compatible controller",
        "0x00",
        "Microsoft Corporation",
        "0x1414",
        "Hyper-V virtual VGA",
        "0x5353",
        "hyperv_fb",
      ),
    ],
    disks: [
      {
        id: "sda",
        sizeBytes: 137_438_953_472,
        model: "Virtual Disk",
        serial: "",
        transport: "scsi",
        rotational: true,
      },
    ],
  },
  "aws-instance": {
    description: "AWS EC2 Nitro instance (m7i.xlarge) with ENA and NVMe EBS",
    arch: "amd64",
    platform: "aws",
    hypervisor: "amazon",
    system: {
      manufacturer: "Amazon EC2",
      productName: "m7i.xlarge",
      version: "",
      serialNumber: "ec2a1b2c-3d4e-5f60-7182-93a4b5c6d7e8",
      uuid: "ec2a1b2c-3d4e-5f60-7182-93a4b5c6d7e8",
      wakeUpType: "Power Switch",
      skuNumber: "",
      biosVersion: "1.0",
    },
    processors: [
      {
        socket: "CPU 0",
        manufacturer: "Intel(R) Corporation",
        productName: "Intel(R) Xeon(R) Platinum 8488C",
        maxSpeedMhz: 3500,
        bootSpeedMhz: 2400,
        coreCount: 2,
        threadCount: 4,
      },
    ],
    cpu: {
      vendorId: "GenuineIntel",
      cpuFamily: "6",
      model: "143",
      modelName: "Intel(R) Xeon(R) Platinum 8488C",
      stepping: "8",
      flags: [...X86_FLAGS, "hypervisor", "avx512f"],
      bogoMips: 4800,
      addressSizes: "46 bits physical, 48 bits virtual",
    },
    memoryModules: [
      {
        sizeMiB: 16384,
        deviceLocator: "Not Specified",
        bankLocator: "Not Specified",
        speed: 4800,
        manufacturer: "Not Specified",
        productName: "Not Specified",
      },
    ],
    pciDevices: [
      pci(
        "0000:00:00.0",
        "bridge",
        "Host bridge",
        "0x00",
        INTEL,
        "0x8086",
        "440FX - 82441FX PMC [Natoma]",
        "0x1237",
        "",
      ),
      pci(
        "0000:00:01.0",
        "bridge",
        "ISA bridge",
        "0x01",
        INTEL,
        "0x8086",
        "82371SB PIIX3 ISA [Natoma/Triton II]",
        "0x7000",
        "",
      ),
      pci(
        "0000:00:01.3",
        "unclassified",
        "Non-VGA unclassified device",
        "0x00",
        INTEL,
        "0x8086",
        "82371AB/EB/MB PIIX4 ACPI",
        "0x7113",
        "piix4_smbus",
      ),
      pci(
        "0000:00:03.0",
        "display",
        "VGA compatible controller",
        "0x00",
        AMAZON,
        "0x1d0f",
        "Device",
        "0x1111",
        "",
      ),
      pci(
        "0000:00:04.0",
        "storage",
        "Non-Volatile memory controller",
        "0x08",
        AMAZON,
        "0x1d0f",
        "NVMe EBS Controller",
        "0x8061",
        "nvme",
      ),
      pci(
        "0000:00:05.0",
        "network",
        "Ethernet controller",
        "0x00",
        AMAZON,
        "0x1d0f",
        "Elastic Network Adapter (ENA)",
        "0xec20",
        "ena",
      ),
    ],
    disks: [
      {
        id: "nvme0n1",
        sizeBytes: 21_474_836_480,
        model: "Amazon Elastic Block Store",
        serial: "vol0123456789abcdef0",
        transport: "nvme",
        rotational: false,
      },
    ],
  },
  "raspberry-pi-4": {
    description: "Raspberry Pi 4 Model B (BCM2711, no SMBIOS)",
    arch: "arm64",
    boardModel: "Raspberry Pi 4 Model B Rev 1.4",
    boardCompatible: ["raspberrypi,4-model-b", "brcm,bcm2711"],
    system: NO_SMBIOS,
    processors: [],
    cpu: {
      vendorId: "ARM",
      cpuFamily: "",
      model: "",
      modelName: "Cortex-A72",
      stepping: "",
      flags: ["fp", "asimd", "evtstrm", "crc32", "cpuid"],
      bogoMips: 108,
      addressSizes: "",
    },
    memoryModules: boardMemory(7810),
    pciDevices: [
      pci(
        "0000:00:00.0",
        "bridge",
        "PCI bridge",
        "0x04",
        BROADCOM,
        "0x14e4",
        "BCM2711 PCIe Bridge",
        "0x2711",
        "pcieport",
      ),
      pci(
        "0000:01:00.0",
        "serial",
        "USB controller",
        "0x03",
        "VIA Technologies, Inc.",
        "0x1106",
        "VL805/VL806 xHCI USB 3.0 Controller",
        "0x3483",
        "xhci_hcd",
      ),
    ],
    disks: [
      {
        id: "mmcblk0",
        sizeBytes: 31_914_983_424,
        model: "",
        serial: "0x1234abcd",
        transport: "mmc",
        rotational: false,
      },
    ],
  },
  "raspberry-pi-5": {
    description: "Raspberry Pi 5 Model B (BCM2712 with RP1, no SMBIOS)",
    arch: "arm64",
    boardModel: "Raspberry Pi 5 Model B Rev 1.0",
    boardCompatible: ["raspberrypi,5-model-b", "brcm,bcm2712"],
    system: NO_SMBIOS,
    processors: [],
    cpu: CORTEX_A76,
    memoryModules: boardMemory(8052),
    pciDevices: [
      pci(
        "0001:00:00.0",
        "bridge",
        "PCI bridge",
        "0x04",
        BROADCOM,
        "0x14e4",
        "BCM2712 PCIe Bridge",
        "0x2712",
        "pcieport",
      ),
      pci(
        "0001:01:00.0",
        "network",
        "Ethernet controller",
        "0x00",
        "Raspberry Pi Ltd",
        "0x1de4",
        "RP1 PCIe 2.0 South Bridge",
        "0x0001",
        "rp1",
      ),
    ],
    disks: [
      {
        id: "mmcblk0",
        sizeBytes: 63_864_569_856,
        model: "",
        serial: "0x5678ef01",
        transport: "mmc",
        rotational: false,
      },
    ],
  },
  "rock-5b": {
    description: "Radxa ROCK 5B (Rockchip RK3588, no SMBIOS, no PCI devices Talos lists)",
    arch: "arm64",
    boardModel: "Radxa ROCK 5B",
    boardCompatible: ["radxa,rock-5b", "rockchip,rk3588"],
    system: NO_SMBIOS,
    processors: [],
    cpu: { ...CORTEX_A76, bogoMips: 48 },
    memoryModules: boardMemory(16384),
    pciDevices: [],
    disks: [
      {
        id: "mmcblk1",
        sizeBytes: 125_069_950_976,
        model: "",
        serial: "0x1a2b3c4d",
        transport: "mmc",
        rotational: false,
      },
    ],
  },
  "strix-halo": {
    description:
      "AMD Ryzen AI Max+ 395 mini PC (Strix Halo, Radeon 8060S) with 128 GiB of unified memory and Realtek 2.5GbE",
    arch: "amd64",
    system: {
      manufacturer: "GMKtec",
      productName: "EVO-X2",
      version: "Default string",
      serialNumber: "Default string",
      uuid: "03000200-0400-0500-0006-000700080009",
      wakeUpType: "Power Switch",
      skuNumber: "Default string",
      biosVersion: "EVO-X2 1.04",
    },
    processors: [
      {
        socket: "FP11",
        manufacturer: "Advanced Micro Devices, Inc.",
        productName: "AMD RYZEN AI MAX+ 395 w/ Radeon 8060S",
        maxSpeedMhz: 5100,
        bootSpeedMhz: 3000,
        coreCount: 16,
        threadCount: 32,
      },
    ],
    cpu: {
      vendorId: "AuthenticAMD",
      cpuFamily: "26",
      model: "112",
      modelName: "AMD RYZEN AI MAX+ 395 w/ Radeon 8060S",
      stepping: "0",
      flags: [...X86_FLAGS, "svm"],
      bogoMips: 5988.9,
      addressSizes: "48 bits physical, 48 bits virtual",
    },
    memoryModules: dimms(8, 16384, 8000, "Micron Technology", "MT62F2G32D4DS-023"),
    pciDevices: [
      rtl8125("0000:c2:00.0"),
      pci(
        "0000:c5:00.0",
        "display",
        "Display controller",
        "0x80",
        AMD_ATI,
        "0x1002",
        "Strix Halo [Radeon Graphics / Radeon 8050S / 8060S Graphics]",
        "0x1586",
        "amdgpu",
      ),
    ],
    disks: [
      {
        id: "nvme0n1",
        sizeBytes: 2_000_398_934_016,
        model: "Lexar SSD NM790 2TB",
        serial: "NLD123456789",
        transport: "nvme",
        rotational: false,
      },
    ],
  },
};

/**
 * The files /proc/device-tree holds for a board with a device tree: `model`
 * NUL-terminated, `compatible` a NUL-separated list. Machines without a
 * device tree (x86) have none.
 */
export function deviceTreeFiles(profile: HardwareProfile): [path: string, content: string][] {
  if (!profile.boardModel) return [];
  return [
    ["/proc/device-tree/model", `${profile.boardModel}\0`],
    ["/proc/device-tree/compatible", (profile.boardCompatible ?? []).map((c) => `${c}\0`).join("")],
  ];
}
