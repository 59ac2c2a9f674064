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
  /** Hypervisor name for virtual machines. */
  hypervisor?: string;
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
  | "intel-nuc"
  | "proxmox-vm"
  | "vmware-vm"
  | "hyperv-vm"
  | "aws-instance"
  | "raspberry-pi-4"
  | "raspberry-pi-5";

const CLASS = {
  display: ["Display controller", "0x03"],
  network: ["Network controller", "0x02"],
  storage: ["Mass storage controller", "0x01"],
  bridge: ["Bridge", "0x06"],
  accel: ["Processing accelerators", "0x12"],
  multimedia: ["Multimedia controller", "0x04"],
  serial: ["Serial bus controller", "0x0c"],
  system: ["Generic system peripheral", "0x08"],
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

function many(n: number, f: (i: number) => PciDeviceInfo): PciDeviceInfo[] {
  return Array.from({ length: n }, (_, i) => f(i));
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

const hex = (n: number) => n.toString(16).padStart(2, "0");
const NVIDIA = "NVIDIA Corporation";
const INTEL = "Intel Corporation";
const AMD_ATI = "Advanced Micro Devices, Inc. [AMD/ATI]";
const REDHAT = "Red Hat, Inc.";
const NVME = ["Non-Volatile memory controller", "0x08"] as const;
const ETH = ["Ethernet controller", "0x00"] as const;

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
    description: "8x NVIDIA H100 SXM HGX server with NVSwitch, ConnectX-7 and E810",
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
      ...many(8, (i) =>
        pci(
          `0000:${hex(0x18 + i * 0x10)}:00.0`,
          "display",
          "3D controller",
          "0x02",
          NVIDIA,
          "0x10de",
          "GH100 [H100 SXM5 80GB]",
          "0x2330",
          "nvidia",
        ),
      ),
      ...many(4, (i) =>
        pci(
          `0000:${hex(0x05 + i)}:00.0`,
          "bridge",
          "Bridge",
          "0x80",
          NVIDIA,
          "0x10de",
          "GH100 [H100 NVSwitch]",
          "0x22a3",
          "nvidia-nvswitch",
        ),
      ),
      ...many(8, (i) =>
        pci(
          `0000:${hex(0x1a + i * 0x10)}:00.0`,
          "network",
          "Infiniband controller",
          "0x07",
          "Mellanox Technologies",
          "0x15b3",
          "MT2910 Family [ConnectX-7]",
          "0x1021",
          "mlx5_core",
        ),
      ),
      pci(
        "0000:b1:00.0",
        "network",
        ETH[0],
        ETH[1],
        INTEL,
        "0x8086",
        "Ethernet Controller E810-C for QSFP",
        "0x1592",
        "ice",
      ),
      pci(
        "0000:b1:00.1",
        "network",
        ETH[0],
        ETH[1],
        INTEL,
        "0x8086",
        "Ethernet Controller E810-C for SFP",
        "0x1593",
        "ice",
      ),
      pci(
        "0000:c1:00.0",
        "storage",
        NVME[0],
        NVME[1],
        "Samsung Electronics Co Ltd",
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
    description: "AMD Ryzen workstation with an NVIDIA GeForce RTX 4090 and Realtek 2.5GbE",
    arch: "amd64",
    system: {
      manufacturer: "ASUS",
      productName: "System Product Name",
      version: "System Version",
      serialNumber: "System Serial Number",
      uuid: "a1b2c3d4-e5f6-4789-8abc-0123456789ab",
      wakeUpType: "Power Switch",
      skuNumber: "SKU",
      biosVersion: "1813",
    },
    processors: [
      {
        socket: "AM5",
        manufacturer: "Advanced Micro Devices, Inc.",
        productName: "AMD Ryzen 9 7950X 16-Core Processor",
        maxSpeedMhz: 5850,
        bootSpeedMhz: 4500,
        coreCount: 16,
        threadCount: 32,
      },
    ],
    cpu: {
      vendorId: "AuthenticAMD",
      cpuFamily: "25",
      model: "97",
      modelName: "AMD Ryzen 9 7950X 16-Core Processor",
      stepping: "2",
      flags: [...X86_FLAGS, "svm", "avx512f"],
      bogoMips: 8983.2,
      addressSizes: "48 bits physical, 48 bits virtual",
    },
    memoryModules: dimms(2, 32768, 6000, "G Skill Intl", "F5-6000J3038F16G"),
    pciDevices: [
      pci(
        "0000:01:00.0",
        "display",
        "VGA compatible controller",
        "0x00",
        NVIDIA,
        "0x10de",
        "AD102 [GeForce RTX 4090]",
        "0x2684",
        "nvidia",
      ),
      pci(
        "0000:01:00.1",
        "multimedia",
        "Audio device",
        "0x03",
        NVIDIA,
        "0x10de",
        "AD102 High Definition Audio Controller",
        "0x22ba",
        "snd_hda_intel",
      ),
      pci(
        "0000:0c:00.0",
        "network",
        ETH[0],
        ETH[1],
        "Realtek Semiconductor Co., Ltd.",
        "0x10ec",
        "RTL8125 2.5GbE Controller",
        "0x8125",
        "r8169",
      ),
      pci(
        "0000:02:00.0",
        "storage",
        NVME[0],
        NVME[1],
        "Samsung Electronics Co Ltd",
        "0x144d",
        "NVMe SSD Controller PM9A1/PM9A3/980PRO",
        "0xa80a",
        "nvme",
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
    description: "Older Intel desktop with an NVIDIA GeForce GTX 1080 (Pascal) and Intel I219-V",
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
        "0000:01:00.0",
        "display",
        "VGA compatible controller",
        "0x00",
        NVIDIA,
        "0x10de",
        "GP104 [GeForce GTX 1080]",
        "0x1b80",
        "nvidia",
      ),
      pci(
        "0000:01:00.1",
        "multimedia",
        "Audio device",
        "0x03",
        NVIDIA,
        "0x10de",
        "GP104 High Definition Audio Controller",
        "0x10f0",
        "snd_hda_intel",
      ),
      pci(
        "0000:00:1f.6",
        "network",
        ETH[0],
        ETH[1],
        INTEL,
        "0x8086",
        "Ethernet Connection (2) I219-V",
        "0x15b8",
        "e1000e",
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
    description: "AMD EPYC server with 8x AMD Instinct MI300X and Broadcom BCM57508",
    arch: "amd64",
    system: {
      manufacturer: "Dell Inc.",
      productName: "PowerEdge XE9680",
      version: "",
      serialNumber: "7XK2M34",
      uuid: "4c4c4544-0058-4b10-8032-b7c04f4d3334",
      wakeUpType: "Power Switch",
      skuNumber: "SKU=0AFD;ModelName=PowerEdge XE9680",
      biosVersion: "1.6.10",
    },
    processors: [0, 1].map((i) => ({
      socket: `CPU.Socket.${i + 1}`,
      manufacturer: "AMD",
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
      ...many(8, (i) =>
        pci(
          `0000:${hex(0x05 + i * 0x20)}:00.0`,
          "accel",
          "Processing accelerators",
          "0x00",
          AMD_ATI,
          "0x1002",
          "Aqua Vanjaram [Instinct MI300X]",
          "0x74a1",
          "amdgpu",
        ),
      ),
      pci(
        "0000:c1:00.0",
        "network",
        ETH[0],
        ETH[1],
        "Broadcom Inc. and subsidiaries",
        "0x14e4",
        "BCM57508 NetXtreme-E 10Gb/25Gb/40Gb/50Gb/100Gb/200Gb Ethernet",
        "0x1750",
        "bnxt_en",
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
  "intel-nuc": {
    description: "Intel NUC 13 Pro with Iris Xe graphics and Intel I226-V 2.5GbE",
    arch: "amd64",
    system: {
      manufacturer: "Intel(R) Client Systems",
      productName: "NUC13ANHi7",
      version: "M89903-204",
      serialNumber: "G6AN3310012A",
      uuid: "6a1e2f3c-8b21-4d7e-9c02-88aef0c1d2e3",
      wakeUpType: "Power Switch",
      skuNumber: "RNUC13ANHI70000",
      biosVersion: "ANRPL357.0031.2024.0207.1420",
    },
    processors: [
      {
        socket: "U3E1",
        manufacturer: "Intel(R) Corporation",
        productName: "13th Gen Intel(R) Core(TM) i7-1360P",
        maxSpeedMhz: 5000,
        bootSpeedMhz: 2200,
        coreCount: 12,
        threadCount: 16,
      },
    ],
    cpu: {
      vendorId: "GenuineIntel",
      cpuFamily: "6",
      model: "186",
      modelName: "13th Gen Intel(R) Core(TM) i7-1360P",
      stepping: "2",
      flags: X86_FLAGS,
      bogoMips: 5222.4,
      addressSizes: "39 bits physical, 48 bits virtual",
    },
    memoryModules: dimms(2, 16384, 3200, "Crucial Technology", "CT16G4SFRA32A.M16FR"),
    pciDevices: [
      pci(
        "0000:00:02.0",
        "display",
        "VGA compatible controller",
        "0x00",
        INTEL,
        "0x8086",
        "Raptor Lake-P [Iris Xe Graphics]",
        "0xa7a0",
        "i915",
      ),
      pci(
        "0000:57:00.0",
        "network",
        ETH[0],
        ETH[1],
        INTEL,
        "0x8086",
        "Ethernet Controller I226-V",
        "0x125c",
        "igc",
      ),
      pci(
        "0000:01:00.0",
        "storage",
        NVME[0],
        NVME[1],
        "Samsung Electronics Co Ltd",
        "0x144d",
        "NVMe SSD Controller PM9A1/PM9A3/980PRO",
        "0xa80a",
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
        "",
        "0x1111",
        "bochs-drm",
      ),
      pci(
        "0000:06:12.0",
        "network",
        ETH[0],
        ETH[1],
        REDHAT,
        "0x1af4",
        "Virtio network device",
        "0x1000",
        "virtio-pci",
      ),
      pci(
        "0000:05:01.0",
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
        "0000:00:03.0",
        "system",
        "Generic system peripheral",
        "0xff",
        REDHAT,
        "0x1af4",
        "Virtio memory balloon",
        "0x1002",
        "virtio-pci",
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
        "0000:0b:00.0",
        "network",
        ETH[0],
        ETH[1],
        "VMware",
        "0x15ad",
        "VMXNET3 Ethernet Controller",
        "0x07b0",
        "vmxnet3",
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
    description: "Microsoft Hyper-V generation 2 virtual machine (VMBus devices, no PCI NIC)",
    arch: "amd64",
    hypervisor: "microsoft",
    system: {
      manufacturer: "Microsoft Corporation",
      productName: "Virtual Machine",
      version: "Hyper-V UEFI Release v4.1",
      serialNumber: "0000-0011-2233-4455-6677-8899-10",
      uuid: "d2e4f6a8-1b3c-4d5e-8f70-9a1b2c3d4e5f",
      wakeUpType: "Power Switch",
      skuNumber: "None",
      biosVersion: "Hyper-V UEFI Release v4.1",
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
    pciDevices: [],
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
        "0000:00:05.0",
        "network",
        ETH[0],
        ETH[1],
        "Amazon.com, Inc.",
        "0x1d0f",
        "Elastic Network Adapter (ENA)",
        "0xec20",
        "ena",
      ),
      pci(
        "0000:00:04.0",
        "storage",
        NVME[0],
        NVME[1],
        "Amazon.com, Inc.",
        "0x1d0f",
        "NVMe EBS Controller",
        "0x8061",
        "nvme",
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
    system: {
      manufacturer: "",
      productName: "",
      version: "",
      serialNumber: "",
      uuid: "",
      wakeUpType: "",
      skuNumber: "",
      biosVersion: "",
    },
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
    memoryModules: [
      {
        sizeMiB: 7810,
        deviceLocator: "UNKNOWN",
        bankLocator: "",
        speed: 0,
        manufacturer: "",
        productName: "",
      },
    ],
    pciDevices: [
      pci(
        "0000:00:00.0",
        "bridge",
        "PCI bridge",
        "0x04",
        "Broadcom Inc. and subsidiaries",
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
        "VL805/806 xHCI USB 3.0 Controller",
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
    system: {
      manufacturer: "",
      productName: "",
      version: "",
      serialNumber: "",
      uuid: "",
      wakeUpType: "",
      skuNumber: "",
      biosVersion: "",
    },
    processors: [],
    cpu: {
      vendorId: "ARM",
      cpuFamily: "",
      model: "",
      modelName: "Cortex-A76",
      stepping: "",
      flags: [
        "fp",
        "asimd",
        "evtstrm",
        "aes",
        "pmull",
        "sha1",
        "sha2",
        "crc32",
        "atomics",
        "cpuid",
      ],
      bogoMips: 108,
      addressSizes: "",
    },
    memoryModules: [
      {
        sizeMiB: 8052,
        deviceLocator: "UNKNOWN",
        bankLocator: "",
        speed: 0,
        manufacturer: "",
        productName: "",
      },
    ],
    pciDevices: [
      pci(
        "0001:00:00.0",
        "bridge",
        "PCI bridge",
        "0x04",
        "Broadcom Inc. and subsidiaries",
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
};
