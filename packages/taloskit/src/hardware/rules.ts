// The rule table that maps what a machine has to what its Talos image and
// config need. Rules are plain data, so that users can add their own (from
// JSON or YAML) and so that every decision can be explained by the rule that
// made it. Ids in conditions use Talos's spelling: `0x10de`, class `0x03`.
import { TalosError } from "@taloskit/core";
import { z } from "zod";
import { ARCHES, CPU_VENDORS } from "./inventory.js";

/** Bumped whenever the default rules change what a machine resolves to. */
export const DEFAULT_RULES_VERSION = "2026.11.1";

export interface PciCondition {
  vendor?: string[];
  /** Class (`0x03`) or class and subclass (`0x0302`). */
  class?: string[];
  /** Device ids, or inclusive ranges `[from, to]`. */
  device?: (string | [string, string])[];
  /** Subsystem `vendor:device`, e.g. `0x1af4:0x1100`. */
  subsystem?: string[];
  driver?: string[];
  /** Case-insensitive regular expression over the vendor and device names. */
  name?: string;
  /**
   * `false`: only devices whose device id the source did not give (plain
   * `lspci`), so that a name decides only where no id can.
   */
  idKnown?: boolean;
}

export type RuleCondition =
  | { pci: PciCondition }
  | { cpuVendor: (typeof CPU_VENDORS)[number][] }
  | { arch: (typeof ARCHES)[number][] }
  /** Case-insensitive regular expressions over SMBIOS strings. */
  | { system: { manufacturer?: string; productName?: string } }
  /** Case-insensitive regular expressions over the device-tree model and compatible strings. */
  | { board: { model?: string; compatible?: string } }
  /** A workload the user asks for by name (`longhorn`, `zfs`, ...). */
  | { intent: string }
  | { all: RuleCondition[] }
  | { any: RuleCondition[] }
  | { not: RuleCondition };

export interface KernelModule {
  name: string;
  parameters?: string[];
}

export interface HardwareRule {
  id: string;
  /** Why the rule exists, in a sentence; shown with every decision it makes. */
  summary: string;
  when: RuleCondition;
  /** Talos versions the rule's effects exist for; outside them the rule only warns. */
  talos?: { min?: string };
  /** Official extension names without the `siderolabs/` prefix; `{nvidia}` is the NVIDIA branch. */
  extensions?: string[];
  kernelArgs?: string[];
  overlay?: { name: string; image: string; options?: Record<string, unknown> };
  platform?: string;
  kernelModules?: KernelModule[];
  sysctls?: Record<string, string>;
  /** Strategic-merge patches of the v1alpha1 document that the rule needs. */
  machinePatches?: Record<string, unknown>[];
  /** The Talos kernel drives this hardware already: no extension, and no warning. */
  builtIn?: boolean;
  /** Extra notes for the result's warnings when the rule matches. */
  warnings?: string[];
  /** Marks rules that the NVIDIA consistency step treats together. */
  nvidia?: "open" | "proprietary" | "requires-open";
  /**
   * Kernel arguments that let an APU's GPU map most of the machine's memory
   * (GTT), worked out from the memory size; see unifiedMemoryArgs().
   */
  unifiedMemory?: boolean;
}

const HYPERVISOR: RuleCondition = {
  any: [
    {
      system: {
        manufacturer: "qemu|vmware|xen|microsoft corporation|innotek|parallels|amazon ec2|google",
      },
    },
    { system: { productName: "virtual machine|standard pc|kvm|hvm domu" } },
    {
      pci: {
        vendor: ["0x1af4", "0x1b36", "0x15ad", "0x5853", "0x1414", "0x80ee", "0x1d0f", "0x1ae0"],
      },
    },
  ],
};

const NVIDIA_GPU = { vendor: ["0x10de"], class: ["0x03"] };

/**
 * NVIDIA GPU generations by device id, and by the chip name that pci.ids gives
 * (`GA102 [GeForce RTX 3090]`) for sources without ids (plain lspci). The
 * NVIDIA drivers Talos ships (the LTS and production branches, 535 and newer)
 * support Maxwell and newer; Kepler's last driver was 470, Fermi's 390, Tesla's 340.
 */
const nvidiaGeneration = (ids: [string, string][], chips: string): RuleCondition => ({
  any: [
    { pci: { ...NVIDIA_GPU, device: ids } },
    { pci: { ...NVIDIA_GPU, idKnown: false, name: `\\b(?:${chips})` } },
  ],
});
const NVIDIA_TURING_AND_NEWER = nvidiaGeneration(
  [["0x1e00", "0xffff"]],
  "TU1\\d\\d|GA1\\d\\d|AD1\\d\\d|GH1\\d\\d|GB[12]\\d\\d",
);
const NVIDIA_BLACKWELL = nvidiaGeneration([["0x2900", "0x2fff"]], "GB[12]\\d\\d");
const NVIDIA_MAXWELL_TO_VOLTA = nvidiaGeneration(
  [["0x1340", "0x1dff"]],
  "GM[12]\\d[\\dB]|GP1\\d\\d|GV1\\d\\d",
);
const NVIDIA_PRE_MAXWELL = nvidiaGeneration(
  [["0x0000", "0x133f"]],
  "GK[12]\\d\\d|GF1\\d\\d|GT2\\d\\d|G[789]\\d\\b|NV\\d\\d\\b|C[67]\\d\\b|MCP\\d\\d",
);

/**
 * AMD APUs whose GPU shares the machine's memory and that people run large
 * models on: Strix Halo (Ryzen AI Max, Radeon 8050S/8060S) always; Strix
 * Point, Krackan Point and Phoenix/Hawk Point when the user asks (intent `llm`).
 */
const AMD_STRIX_HALO = { vendor: ["0x1002"], class: ["0x03"], device: ["0x1586"] };
const AMD_LLM_APUS = {
  vendor: ["0x1002"],
  class: ["0x03"],
  device: ["0x150e", "0x1114", "0x15bf", "0x15c8"],
};

/**
 * Intel GPUs by device id, and by the pci.ids name for sources without ids.
 * Xe2 and newer (Battlemage, Lunar Lake, Panther Lake) are the xe driver's
 * alone; Arc Alchemist (DG2) runs i915; everything older is integrated i915 graphics.
 */
const INTEL_DISPLAY = { vendor: ["0x8086"], class: ["0x03"] };
const INTEL_XE2_IDS: [string, string][] = [
  ["0x6420", "0x64b0"],
  ["0xb080", "0xb0b0"],
  ["0xe202", "0xe216"],
];
const INTEL_XE2_NAMES = "battlemage|\\bBMG\\b|lunar lake|panther lake|\\barc (pro )?b\\d{2}";
const INTEL_ARC_IDS: [string, string][] = [["0x5690", "0x56c2"]];
const INTEL_ARC_NAMES = "\\bDG2\\b|alchemist|\\barc (pro )?a\\d{2}";
const byIdOrName = (ids: [string, string][], names: string): RuleCondition => ({
  any: [
    { pci: { ...INTEL_DISPLAY, device: ids } },
    { pci: { ...INTEL_DISPLAY, idKnown: false, name: names } },
  ],
});
/** Device ids outside the given ranges (which must not overlap). */
function outside(ranges: [string, string][]): [string, string][] {
  const out: [string, string][] = [];
  let next = 0;
  const sorted = [...ranges].sort((a, b) => Number.parseInt(a[0], 16) - Number.parseInt(b[0], 16));
  for (const [from, to] of sorted) {
    const start = Number.parseInt(from, 16);
    if (start > next) out.push([hex(next), hex(start - 1)]);
    next = Number.parseInt(to, 16) + 1;
  }
  if (next <= 0xffff) out.push([hex(next), "0xffff"]);
  return out;
}
const hex = (n: number) => `0x${n.toString(16).padStart(4, "0")}`;

/** The rules taloskit ships. Order matters only for the order of reasons in a result. */
export const defaultRules: HardwareRule[] = [
  // NVIDIA: one driver flavour and one branch for the whole machine; see resolveNvidia().
  {
    id: "nvidia-gpu-open",
    summary: "NVIDIA GPUs of the Turing generation and newer run the open kernel modules",
    when: NVIDIA_TURING_AND_NEWER,
    extensions: ["nvidia-open-gpu-kernel-modules-{nvidia}", "nvidia-container-toolkit-{nvidia}"],
    kernelModules: [
      { name: "nvidia" },
      { name: "nvidia_uvm" },
      { name: "nvidia_drm" },
      { name: "nvidia_modeset" },
    ],
    sysctls: { "net.core.bpf_jit_harden": "1" },
    nvidia: "open",
  },
  {
    id: "nvidia-gpu-blackwell",
    summary: "NVIDIA Blackwell GPUs are supported by the open kernel modules only",
    when: NVIDIA_BLACKWELL,
    nvidia: "requires-open",
  },
  {
    id: "nvidia-gpu-proprietary",
    summary:
      "NVIDIA GPUs older than Turing (Maxwell, Pascal, Volta) need the proprietary modules of the LTS branch, the last to support them",
    when: NVIDIA_MAXWELL_TO_VOLTA,
    extensions: ["nonfree-kmod-nvidia-{nvidia}", "nvidia-container-toolkit-{nvidia}"],
    kernelModules: [
      { name: "nvidia" },
      { name: "nvidia_uvm" },
      { name: "nvidia_drm" },
      { name: "nvidia_modeset" },
    ],
    sysctls: { "net.core.bpf_jit_harden": "1" },
    nvidia: "proprietary",
  },
  {
    id: "nvidia-gpu-unsupported",
    summary:
      "NVIDIA GPUs older than Maxwell (Kepler, Fermi, Tesla) are supported by no NVIDIA driver Talos ships (535 and newer): they get no driver",
    when: NVIDIA_PRE_MAXWELL,
    warnings: [
      "NVIDIA GPU older than Maxwell: the NVIDIA drivers Talos ships cannot bind to it, so it gets no NVIDIA extension (CUDA workloads cannot use it)",
    ],
  },
  {
    id: "nvidia-nvswitch",
    summary: "NVSwitch systems (HGX, DGX) need Fabric Manager to bring up the NVLink fabric",
    when: {
      any: [
        { pci: { vendor: ["0x10de"], class: ["0x0680"] } },
        {
          pci: {
            vendor: ["0x10de"],
            device: ["0x1ac0", "0x1ac1", "0x1ac2", "0x1af1", "0x22a3", "0x22a4"],
          },
        },
        { pci: { vendor: ["0x10de"], name: "nvswitch|nvlink switch" } },
      ],
    },
    extensions: ["nvidia-fabricmanager-{nvidia}"],
  },
  // AMD and Intel graphics.
  {
    id: "amd-gpu",
    summary: "AMD Radeon and Instinct GPUs need the amdgpu firmware and modules",
    when: { pci: { vendor: ["0x1002"], class: ["0x03", "0x12"] } },
    talos: { min: "1.9.0" },
    extensions: ["amdgpu"],
  },
  {
    id: "amd-apu-unified-memory",
    summary:
      "AMD APUs running large models (Strix Halo and similar) let the GPU map most of the machine's memory (GTT), sized from the memory",
    when: {
      any: [
        { pci: AMD_STRIX_HALO },
        { pci: { vendor: ["0x1002"], class: ["0x03"], idKnown: false, name: "strix halo" } },
        { all: [{ intent: "llm" }, { pci: AMD_LLM_APUS }] },
      ],
    },
    talos: { min: "1.9.0" },
    unifiedMemory: true,
  },
  {
    id: "intel-gpu-xe",
    summary:
      "Intel Xe2 graphics and newer (Battlemage, Lunar Lake, Panther Lake) are driven by the xe driver, with the Management Engine modules for their firmware",
    when: byIdOrName(INTEL_XE2_IDS, INTEL_XE2_NAMES),
    talos: { min: "1.12.0" },
    extensions: ["xe", "mei"],
  },
  {
    id: "intel-gpu-arc",
    summary:
      "Intel Arc (Alchemist, DG2) GPUs run the i915 driver and need the Management Engine modules to load their media firmware",
    when: byIdOrName(INTEL_ARC_IDS, INTEL_ARC_NAMES),
    talos: { min: "1.9.0" },
    extensions: ["i915", "mei"],
  },
  {
    id: "intel-gpu-i915",
    summary: "Intel integrated graphics before Xe2 run the i915 driver and its firmware",
    when: {
      any: [
        { pci: { ...INTEL_DISPLAY, device: outside([...INTEL_XE2_IDS, ...INTEL_ARC_IDS]) } },
        {
          all: [
            { pci: { ...INTEL_DISPLAY, idKnown: false } },
            {
              not: {
                pci: {
                  ...INTEL_DISPLAY,
                  idKnown: false,
                  name: `${INTEL_XE2_NAMES}|${INTEL_ARC_NAMES}`,
                },
              },
            },
          ],
        },
      ],
    },
    talos: { min: "1.9.0" },
    extensions: ["i915"],
  },
  // CPU microcode: only on bare metal, where the host loads it.
  {
    id: "intel-microcode",
    summary: "Intel CPUs get microcode updates for stability and security fixes",
    when: { all: [{ cpuVendor: ["intel"] }, { arch: ["amd64"] }, { not: HYPERVISOR }] },
    extensions: ["intel-ucode"],
  },
  {
    id: "amd-microcode",
    summary: "AMD CPUs get microcode updates for stability and security fixes",
    when: { all: [{ cpuVendor: ["amd"] }, { arch: ["amd64"] }, { not: HYPERVISOR }] },
    extensions: ["amd-ucode"],
  },
  // Network cards that need firmware or out-of-tree drivers.
  {
    id: "realtek-nic",
    summary: "Realtek NICs (r8169, r8125) load firmware from realtek-firmware",
    when: { pci: { vendor: ["0x10ec"], class: ["0x02"] } },
    extensions: ["realtek-firmware"],
  },
  {
    id: "broadcom-bnx2",
    summary: "Broadcom NetXtreme II NICs (bnx2, bnx2x) need their firmware",
    when: {
      any: [
        { pci: { driver: ["bnx2", "bnx2x"] } },
        {
          pci: {
            vendor: ["0x14e4"],
            device: [
              "0x1639",
              "0x163a",
              "0x164a",
              "0x164c",
              "0x16aa",
              "0x16ac",
              ["0x164e", "0x1650"],
              "0x1662",
              "0x1663",
              ["0x168a", "0x168e"],
              ["0x16a1", "0x16a5"],
              "0x16ad",
              "0x16ae",
            ],
          },
        },
      ],
    },
    extensions: ["bnx2-bnx2x"],
  },
  {
    id: "intel-ice-nic",
    summary: "Intel E800-series NICs (ice driver) need their firmware and DDP package",
    when: {
      any: [
        { pci: { driver: ["ice"] } },
        {
          pci: {
            vendor: ["0x8086"],
            class: ["0x02"],
            device: [
              ["0x1591", "0x159b"],
              ["0x124c", "0x124f"],
              ["0x188a", "0x189a"],
              ["0x579c", "0x579f"],
            ],
          },
        },
      ],
    },
    extensions: ["intel-ice-firmware"],
  },
  {
    id: "qlogic",
    summary: "QLogic HBAs and FastLinQ NICs need QLogic firmware",
    when: { pci: { vendor: ["0x1077"] } },
    extensions: ["qlogic-firmware"],
  },
  {
    id: "chelsio-nic",
    summary: "Chelsio NICs need Chelsio firmware and drivers",
    when: { pci: { vendor: ["0x1425"], class: ["0x02"] } },
    extensions: ["chelsio-firmware", "chelsio-drivers"],
  },
  {
    id: "aws-ena",
    summary: "AWS Elastic Network Adapters use the ENA driver",
    when: { pci: { vendor: ["0x1d0f"], device: ["0xec20", "0xec21", "0x0ec2", "0x1ec2"] } },
    talos: { min: "1.10.0" },
    extensions: ["amazon-ena"],
  },
  {
    id: "thunderbolt",
    summary: "Thunderbolt and USB4 controllers need the thunderbolt modules to authorize devices",
    when: { pci: { name: "thunderbolt|usb4" } },
    extensions: ["thunderbolt"],
  },
  // Accelerators.
  {
    id: "google-coral",
    summary: "Google Coral Edge TPUs use the gasket and apex drivers",
    when: { pci: { vendor: ["0x1ac1"], device: ["0x089a"] } },
    extensions: ["gasket-driver"],
  },
  {
    id: "intel-npu",
    summary:
      "Intel NPUs (Meteor Lake, Arrow Lake, Lunar Lake) need the intel_vpu driver and firmware",
    when: {
      pci: { vendor: ["0x8086"], device: ["0x7d1d", "0xad1d", "0x643e", "0xb03e"] },
    },
    talos: { min: "1.13.0" },
    extensions: ["intel-npu"],
  },
  {
    id: "hailo",
    summary: "Hailo AI accelerators use the HailoRT driver",
    when: { pci: { vendor: ["0x1e60"] } },
    talos: { min: "1.11.0" },
    extensions: ["hailort"],
  },
  {
    id: "tenstorrent",
    summary: "Tenstorrent AI cards use the tenstorrent driver",
    when: { pci: { vendor: ["0x1e52"] } },
    talos: { min: "1.11.0" },
    extensions: ["tenstorrent"],
  },
  {
    id: "xilinx-xdma",
    summary: "Xilinx FPGA cards with the XDMA engine use the xdma driver",
    when: { pci: { vendor: ["0x10ee"] } },
    talos: { min: "1.10.0" },
    extensions: ["xdma-driver"],
    warnings: [
      "Xilinx device found: the xdma driver serves XDMA designs only; check the card's bitstream",
    ],
  },
  // Hypervisors: guest agents and platforms.
  {
    id: "qemu-guest",
    summary:
      "QEMU/KVM guests (Proxmox, libvirt, OpenStack) report to the host through the QEMU guest agent",
    when: {
      any: [
        { system: { manufacturer: "^qemu" } },
        { pci: { subsystem: ["0x1af4:0x1100"] } },
        { pci: { vendor: ["0x1b36"] } },
        {
          all: [
            { pci: { vendor: ["0x1af4"] } },
            { not: { system: { manufacturer: "google|amazon" } } },
          ],
        },
      ],
    },
    extensions: ["qemu-guest-agent"],
    platform: "metal",
    warnings: [
      "QEMU guest: use the nocloud platform instead of metal if the VM gets a cloud-init drive",
    ],
  },
  {
    id: "vmware-guest",
    summary: "VMware guests run the VMware tools agent and the vmware platform",
    when: { any: [{ system: { manufacturer: "vmware" } }, { pci: { vendor: ["0x15ad"] } }] },
    extensions: ["vmtoolsd-guest-agent"],
    platform: "vmware",
  },
  {
    id: "xen-guest",
    summary: "Xen and XCP-ng guests run the Xen guest agent",
    when: { any: [{ system: { manufacturer: "^xen" } }, { pci: { vendor: ["0x5853"] } }] },
    extensions: ["xen-guest-agent"],
    platform: "metal",
  },
  {
    id: "hyperv-guest",
    summary: "Hyper-V guests run the Hyper-V KVP and VSS daemons",
    when: {
      any: [
        { system: { manufacturer: "microsoft corporation", productName: "virtual machine" } },
        { pci: { vendor: ["0x1414"] } },
      ],
    },
    talos: { min: "1.14.0" },
    extensions: ["hyperv-guest-agent"],
    platform: "metal",
  },
  {
    id: "aws-instance",
    summary: "Amazon EC2 instances boot the aws platform image",
    when: {
      any: [
        { system: { manufacturer: "amazon ec2" } },
        { pci: { vendor: ["0x1d0f"], device: ["0xec20", "0xec21"] } },
      ],
    },
    platform: "aws",
  },
  {
    id: "gcp-instance",
    summary: "Google Compute Engine instances boot the gcp platform image",
    when: { system: { manufacturer: "^google", productName: "google compute engine" } },
    platform: "gcp",
  },
  // Single-board computers: overlays. The image name is the one the factory UI writes.
  {
    id: "raspberry-pi-5",
    summary: "Raspberry Pi 5 boots with the rpi_5 overlay",
    when: {
      any: [
        { board: { model: "raspberry pi 5|compute module 5" } },
        { board: { compatible: "raspberrypi,5-model-b|bcm2712" } },
        { pci: { vendor: ["0x14e4"], device: ["0x2712"] } },
        { pci: { vendor: ["0x14e4"], idKnown: false, name: "\\bBCM2712\\b" } },
        { pci: { vendor: ["0x1de4"], device: ["0x0001"] } },
        { pci: { vendor: ["0x1de4"], idKnown: false, name: "\\bRP1\\b" } },
      ],
    },
    talos: { min: "1.12.3" },
    overlay: { name: "rpi_5", image: "siderolabs/sbc-raspberrypi" },
    platform: "metal",
  },
  {
    id: "raspberry-pi-generic",
    summary: "Raspberry Pi 4, CM4 and older boot with the rpi_generic overlay",
    when: {
      all: [
        {
          any: [
            { board: { model: "raspberry pi" } },
            { board: { compatible: "raspberrypi,|bcm2711|bcm2837" } },
            { pci: { vendor: ["0x14e4"], device: ["0x2711"] } },
            { pci: { vendor: ["0x14e4"], idKnown: false, name: "\\bBCM2711\\b" } },
          ],
        },
        {
          not: {
            any: [
              { board: { model: "raspberry pi 5|compute module 5" } },
              { board: { compatible: "bcm2712" } },
              { pci: { vendor: ["0x14e4"], device: ["0x2712"] } },
              { pci: { vendor: ["0x14e4"], idKnown: false, name: "\\bBCM2712\\b" } },
            ],
          },
        },
      ],
    },
    overlay: { name: "rpi_generic", image: "siderolabs/sbc-raspberrypi" },
    platform: "metal",
  },
  ...(
    [
      ["rock5b", "radxa,rock-5b$|rock 5b$|rock 5 model b"],
      ["rock5b-plus", "radxa,rock-5b-plus|rock 5b\\+|rock 5b plus"],
      ["rock5a", "radxa,rock-5a|rock 5a"],
      ["rock5t", "radxa,rock-5t|rock 5t"],
      ["rock3b", "radxa,rock-3b|rock 3b"],
      ["rockpro64", "pine64,rockpro64|rockpro64"],
      ["rock64", "pine64,rock64|pine64 rock64"],
      ["orangepi-5-plus", "xunlong,orangepi-5-plus|orange pi 5 plus"],
      ["orangepi-5-max", "xunlong,orangepi-5-max|orange pi 5 max"],
      ["orangepi-5", "xunlong,orangepi-5$|orange pi 5$"],
      ["turingrk1", "turing,rk1|turing machines rk1"],
      ["nanopi-r4s", "friendlyarm,nanopi-r4s|nanopi r4s"],
      ["nanopi-r5s", "friendlyarm,nanopi-r5s|nanopi r5s"],
      ["odroid-m1", "hardkernel,odroid-m1|odroid-m1"],
    ] as const
  ).map(
    ([overlay, pattern]): HardwareRule => ({
      id: `rockchip-${overlay}`,
      summary: `Rockchip board ${overlay} boots with its sbc-rockchip overlay`,
      when: { any: [{ board: { compatible: pattern } }, { board: { model: pattern } }] },
      overlay: { name: overlay, image: "siderolabs/sbc-rockchip" },
      platform: "metal",
    }),
  ),
  {
    id: "wireless",
    summary: "Wi-Fi adapters are not supported by Talos",
    when: { pci: { class: ["0x0280"] } },
    builtIn: true,
    warnings: ["Wi-Fi adapter found: Talos does not support Wi-Fi; use wired networking"],
  },
  // Hardware the Talos kernel drives on its own: matched so that it is not reported as unknown.
  {
    id: "builtin-hardware",
    summary: "driven by the Talos kernel without an extension",
    when: {
      any: [
        { pci: { vendor: ["0x8086"], class: ["0x02"] } }, // e1000e, igb, igc, ixgbe, i40e (ice is matched above)
        { pci: { vendor: ["0x15b3"] } }, // Mellanox/NVIDIA ConnectX (mlx4, mlx5)
        { pci: { vendor: ["0x1af4"] } }, // virtio
        { pci: { vendor: ["0x15ad"], device: ["0x07b0", "0x0405", "0x07c0", "0x07e0"] } }, // vmxnet3, SVGA, PVSCSI, SATA
        { pci: { vendor: ["0x1d6a"] } }, // Aquantia / Marvell AQtion
        {
          pci: {
            vendor: ["0x14e4"],
            class: ["0x02"],
            device: [
              ["0x16c0", "0x16ff"],
              ["0x1750", "0x1760"],
            ],
          },
        }, // bnxt_en
        { pci: { vendor: ["0x1a03"] } }, // ASPEED BMC graphics
        { pci: { vendor: ["0x102b"], class: ["0x03"] } }, // Matrox BMC graphics
        { pci: { vendor: ["0x1234"], device: ["0x1111"] } }, // QEMU standard VGA
        { pci: { vendor: ["0x1013"] } }, // Cirrus VGA (QEMU)
        { pci: { vendor: ["0x1414"] } }, // Hyper-V synthetic devices
        { pci: { vendor: ["0x1ae0"] } }, // Google gVNIC
        { pci: { vendor: ["0x1d0f"], class: ["0x01", "0x03"] } }, // Amazon NVMe and video
        { pci: { vendor: ["0x1de4"] } }, // Raspberry Pi RP1
        { pci: { vendor: ["0x10de"], class: ["0x02"] } }, // NVIDIA ConnectX/BlueField NICs (mlx5)
        { pci: { vendor: ["0x14e4"], class: ["0x02"] } }, // Broadcom tg3 (bnx2/bnx2x matched above)
        { pci: { vendor: ["0x11ab"], class: ["0x02"] } }, // Marvell sky2, mvpp2
        { pci: { vendor: ["0x1924"] } }, // Solarflare sfc
        { pci: { vendor: ["0x1137"], class: ["0x02"] } }, // Cisco VIC enic
        { pci: { vendor: ["0x1dd8"] } }, // AMD Pensando ionic
        { pci: { vendor: ["0x19e5"], class: ["0x02"] } }, // Huawei hinic
        { pci: { vendor: ["0x1b36"], class: ["0x03"] } }, // QEMU QXL and bochs display
        {
          pci: {
            driver: [
              "e1000e",
              "igb",
              "igc",
              "ixgbe",
              "i40e",
              "mlx5_core",
              "virtio-pci",
              "vmxnet3",
              "atlantic",
              "bnxt_en",
              "tg3",
              "r8152",
            ],
          },
        },
      ],
    },
    builtIn: true,
  },
  // Workloads the user asks for.
  {
    id: "intent-longhorn",
    summary:
      "Longhorn needs the iSCSI initiator and util-linux tools, and its data path mounted into the kubelet",
    when: { intent: "longhorn" },
    extensions: ["iscsi-tools", "util-linux-tools"],
    warnings: [
      "longhorn: its data path must be visible to the kubelet: /var/lib/longhorn with a kubelet extra mount up to Talos 1.13; from 1.14 a user volume (UserVolumeConfig, mounted under /var/mnt) set as Longhorn's default data path",
    ],
    machinePatches: [
      {
        machine: {
          kubelet: {
            extraMounts: [
              {
                destination: "/var/lib/longhorn",
                type: "bind",
                source: "/var/lib/longhorn",
                options: ["bind", "rshared", "rw"],
              },
            ],
          },
        },
      },
    ],
  },
  {
    id: "intent-iscsi",
    summary: "iSCSI storage (OpenEBS, Democratic CSI, Trident) needs the iSCSI initiator",
    when: { intent: "iscsi" },
    extensions: ["iscsi-tools", "util-linux-tools"],
  },
  {
    id: "intent-zfs",
    summary: "ZFS needs the zfs module and tools",
    when: { intent: "zfs" },
    extensions: ["zfs"],
    kernelModules: [{ name: "zfs" }],
  },
  {
    id: "intent-drbd",
    summary: "DRBD (LINSTOR, Piraeus) needs the drbd module, with the user-mode helper off",
    when: { any: [{ intent: "drbd" }, { intent: "linstor" }, { intent: "piraeus" }] },
    extensions: ["drbd"],
    kernelModules: [
      { name: "drbd", parameters: ["usermode_helper=disabled"] },
      { name: "drbd_transport_tcp" },
    ],
  },
  {
    id: "intent-mayastor",
    summary: "OpenEBS Mayastor needs huge pages and the NVMe-over-TCP module",
    when: { any: [{ intent: "mayastor" }, { intent: "openebs-mayastor" }] },
    kernelModules: [{ name: "nvme_tcp" }],
    sysctls: { "vm.nr_hugepages": "1024" },
  },
  {
    id: "intent-tailscale",
    summary: "Tailscale runs as a system extension",
    when: { intent: "tailscale" },
    extensions: ["tailscale"],
    warnings: [
      "tailscale needs an ExtensionServiceConfig named tailscale with TS_AUTHKEY in its environment",
    ],
  },
  ...(
    [
      ["nfs", "nfs-utils", "NFSv3 with locking needs rpcbind and rpc.statd"],
      ["gvisor", "gvisor", "the gVisor sandboxed runtime"],
      ["kata", "kata-containers", "Kata VM-isolated containers"],
      ["spin", "spin", "Spin WebAssembly workloads"],
      ["wasmedge", "wasmedge", "WasmEdge WebAssembly workloads"],
      ["btrfs", "btrfs", "btrfs volumes"],
      ["fuse", "fuse3", "FUSE filesystems"],
      ["multipath", "multipath-tools", "dm-multipath storage"],
      ["cloudflared", "cloudflared", "Cloudflare tunnels on the host"],
      ["zerotier", "zerotier", "ZeroTier networking"],
      ["netbird", "netbird", "NetBird networking"],
      ["lldp", "lldpd", "LLDP neighbour discovery"],
      ["stargz", "stargz-snapshotter", "lazy-pulling stargz images"],
      ["ecr", "ecr-credential-provider", "pulling from Amazon ECR with kubelet credentials"],
      ["gdrcopy", "nvidia-gdrdrv-device", "GPUDirect RDMA copies (gdrcopy)"],
      ["mdadm", "mdadm", "Linux software RAID"],
      ["nut", "nut-client", "UPS shutdown through Network UPS Tools"],
      ["nvme-cli", "nvme-cli", "managing NVMe drives from the host"],
      ["portworx", "px-fuse", "Portworx storage"],
      ["nfsd", "nfsd", "serving NFS from the host"],
    ] as const
  ).map(
    ([intent, extension, what]): HardwareRule => ({
      id: `intent-${intent}`,
      summary: `${what} needs the ${extension} extension`,
      when: { intent },
      extensions: [extension],
    }),
  ),
];

const pciConditionSchema = z.object({
  vendor: z.array(z.string()).optional(),
  class: z.array(z.string()).optional(),
  device: z.array(z.union([z.string(), z.tuple([z.string(), z.string()])])).optional(),
  subsystem: z.array(z.string()).optional(),
  driver: z.array(z.string()).optional(),
  name: z.string().optional(),
  idKnown: z.boolean().optional(),
});

const conditionSchema: z.ZodType<RuleCondition> = z.lazy(() =>
  z.union([
    z.object({ pci: pciConditionSchema }).strict(),
    z.object({ cpuVendor: z.array(z.enum(CPU_VENDORS)) }).strict(),
    z.object({ arch: z.array(z.enum(ARCHES)) }).strict(),
    z
      .object({
        system: z.object({
          manufacturer: z.string().optional(),
          productName: z.string().optional(),
        }),
      })
      .strict(),
    z
      .object({
        board: z.object({ model: z.string().optional(), compatible: z.string().optional() }),
      })
      .strict(),
    z.object({ intent: z.string() }).strict(),
    z.object({ all: z.array(conditionSchema) }).strict(),
    z.object({ any: z.array(conditionSchema) }).strict(),
    z.object({ not: conditionSchema }).strict(),
  ]),
) as z.ZodType<RuleCondition>;

const isMapping = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * A mapping passed through as given, own keys and all. z.record would copy it
 * and lose a key named "__proto__" (or give the copy that key's value as its
 * prototype).
 */
const mappingOf = (valueOk: (v: unknown) => boolean, message: string) =>
  z.custom<Record<string, unknown>>((v) => isMapping(v) && Object.values(v).every(valueOk), {
    message,
  });

const ruleSchema = z
  .object({
    id: z.string().min(1),
    summary: z.string().min(1),
    when: conditionSchema,
    talos: z.object({ min: z.string().optional() }).optional(),
    extensions: z.array(z.string()).optional(),
    kernelArgs: z.array(z.string()).optional(),
    overlay: z
      .object({
        name: z.string(),
        image: z.string(),
        options: mappingOf(() => true, "expected a mapping of option names to values").optional(),
      })
      .optional(),
    platform: z.string().optional(),
    kernelModules: z
      .array(z.object({ name: z.string(), parameters: z.array(z.string()).optional() }))
      .optional(),
    sysctls: (
      mappingOf(
        (v) => typeof v === "string",
        "expected a mapping of sysctl names to text",
      ) as z.ZodType<Record<string, string>>
    ).optional(),
    machinePatches: z.array(mappingOf(() => true, "expected a mapping")).optional(),
    builtIn: z.boolean().optional(),
    warnings: z.array(z.string()).optional(),
    nvidia: z.enum(["open", "proprietary", "requires-open"]).optional(),
    unifiedMemory: z.boolean().optional(),
  })
  .strict();

/**
 * Raised for a user rule file that does not fit the rule schema; names the rule and the
 * field. A {@link TalosError}.
 */
export class RuleError extends TalosError {
  override readonly name: string = "RuleError";
  /** Stable, machine-readable code. */
  declare readonly code: "HARDWARE_RULE_INVALID";
  constructor(message: string) {
    super("HARDWARE_RULE_INVALID", message);
  }
}

/** Validates user rules (parsed JSON or YAML); each must have a unique id. */
export function parseRules(input: unknown): HardwareRule[] {
  const list = Array.isArray(input) ? input : (input as { rules?: unknown })?.rules;
  if (!Array.isArray(list))
    throw new RuleError("rules: expected a list of rules, or an object with a rules list");
  const seen = new Set<string>();
  return list.map((raw, index) => {
    const label =
      typeof (raw as { id?: unknown })?.id === "string"
        ? `rule "${(raw as { id: string }).id.slice(0, 80)}"`
        : `rule ${index}`;
    const deep = deepestPath(raw, MAX_RULE_DEPTH);
    if (deep !== undefined) {
      throw new RuleError(
        `${label}: ${deep.join(".")}: nested more than ${MAX_RULE_DEPTH} levels deep`,
      );
    }
    const result = ruleSchema.safeParse(raw);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new RuleError(
        `${label}: ${issue?.path.join(".") || "(rule)"}: ${issue?.message ?? "invalid"}`,
      );
    }
    if (seen.has(result.data.id)) throw new RuleError(`${label}: duplicate rule id`);
    seen.add(result.data.id);
    for (const pattern of collectPatterns(result.data.when)) {
      try {
        new RegExp(pattern, "i");
      } catch {
        throw new RuleError(`${label}: invalid regular expression ${JSON.stringify(pattern)}`);
      }
    }
    return result.data as HardwareRule;
  });
}

/** How deep a rule may nest (conditions within conditions, patch values): far past any real rule. */
const MAX_RULE_DEPTH = 64;

/**
 * The path of the first value nested deeper than `max` levels, found without
 * recursion (so any input is safe to walk), or undefined when there is none.
 */
function deepestPath(value: unknown, max: number): (string | number)[] | undefined {
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value, path: [] }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    if (typeof item.value !== "object" || item.value === null) continue;
    if (item.path.length >= max) return item.path.slice(0, 3);
    for (const [k, v] of Object.entries(item.value)) {
      stack.push({ value: v, path: [...item.path, Array.isArray(item.value) ? Number(k) : k] });
    }
  }
  return undefined;
}

function collectPatterns(c: RuleCondition): string[] {
  if ("all" in c) return c.all.flatMap(collectPatterns);
  if ("any" in c) return c.any.flatMap(collectPatterns);
  if ("not" in c) return collectPatterns(c.not);
  if ("system" in c)
    return [c.system.manufacturer, c.system.productName].filter((p): p is string => !!p);
  if ("board" in c) return [c.board.model, c.board.compatible].filter((p): p is string => !!p);
  if ("pci" in c) return c.pci.name ? [c.pci.name] : [];
  return [];
}
