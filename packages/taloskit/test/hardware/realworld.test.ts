// Machines as people paste them: the lspci listings of shared/realworld/lspci
// (every form: -nnk piped through grep with `--` separators, -vvnnxxx with
// config-space dumps, -nnk with 0000: domains, plain lspci with names only),
// and listings composed here from real devices (ids as the PCI ID Repository
// lists them) that the project has no fixture of. Each expectation is what
// the hardware needs, with the reason written beside it.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  groupBySchematicId,
  HardwareOptionError,
  InventoryParseError,
  inventoryFromJson,
  inventoryFromLspci,
  type MachineInventory,
  parseLspci,
  planHardware,
  type ResolveOptions,
} from "../../src/hardware/index.js";

const REALWORLD = new URL("../../../../../shared/realworld/lspci/", import.meta.url);
const listing = (file: string) =>
  inventoryFromLspci(readFileSync(new URL(file, REALWORLD), "utf8"), file);
const plan = (m: MachineInventory, options: Partial<ResolveOptions> = {}) =>
  planHardware(m, { talosVersion: "v1.14.0", ...options });
const extensionsOf = (p: ReturnType<typeof plan>) =>
  (p.schematic.customization.systemExtensions?.officialExtensions ?? []).map((e) =>
    e.replace("siderolabs/", ""),
  );
const rulesOf = (p: ReturnType<typeof plan>) => p.reasons.map((r) => r.rule);

describe("the realworld lspci listings, each form", () => {
  it("RTX 3090 pair, lspci -nnk | grep -A3 nvidia with -- separators: open modules (Ampere)", () => {
    const m = listing("club3090-2x3090.nnk-grep.txt");
    expect(m.pciDevices.filter((d) => d.classId === "0x03")).toHaveLength(2);
    const p = plan(m);
    expect(extensionsOf(p)).toEqual([
      "nvidia-container-toolkit-lts",
      "nvidia-open-gpu-kernel-modules-lts",
    ]);
    expect(p.reasons.find((r) => r.rule === "nvidia-gpu-open")?.because).toContain(
      "pci 0000:05:00.0 [10de:2204] NVIDIA Corporation GA102 [GeForce RTX 3090]",
    );
  });

  it("Alienware M11x, -vvnnxxx: GT 335M (Tesla generation) gets no driver; the Intel GM45 gets i915", () => {
    const m = listing("alienware-m11x-gt335m.vvnnxxx.txt");
    const p = plan(m);
    // GT216 predates Maxwell: the 535+ drivers Talos ships cannot bind to it.
    expect(extensionsOf(p).filter((e) => e.includes("nvidia"))).toEqual([]);
    expect(extensionsOf(p)).toEqual(["i915", "intel-ucode"]);
    expect(rulesOf(p)).toContain("nvidia-gpu-unsupported");
    expect(p.warnings.join("\n")).toMatch(/NVIDIA GPU older than Maxwell/);
  });

  it("ThinkPad T400, -vvnnxxx: GM45 graphics (i915), Intel microcode, Wi-Fi warned about", () => {
    const p = plan(listing("thinkpad-t400-gm45.vvnnxxx.txt"));
    expect(extensionsOf(p)).toEqual(["i915", "intel-ucode"]);
    expect(p.warnings.join("\n")).toMatch(/Wi-Fi/);
  });

  it("Sandy Bridge HD 2000, -nnk with 0000: domains: slots keep their domain; i915 and microcode", () => {
    const m = listing("sandybridge-hd2000.nnk-domain.txt");
    expect(m.pciDevices.map((d) => d.slot)).toContain("0000:00:02.0");
    expect(extensionsOf(plan(m))).toEqual(["i915", "intel-ucode"]);
  });

  it("Ryzen 7 5700U mini PC, -nn: the Vega iGPU needs amdgpu; AMD microcode", () => {
    expect(extensionsOf(plan(listing("amd-5700u-minipc.nn.txt")))).toEqual(["amd-ucode", "amdgpu"]);
  });

  it("Arc Pro A40 alone, -vnn: i915 with the MEI modules (DG2 loads its media firmware through MEI)", () => {
    const p = plan(listing("arc-pro-a40.vnn-single.txt"));
    expect(extensionsOf(p)).toEqual(["i915", "mei"]);
    expect(rulesOf(p)).toEqual(["intel-gpu-arc"]);
  });

  it("Dell with Tesla P100, plain -vvv: the chip name (GP100) says Pascal: proprietary modules, LTS", () => {
    const m = listing("dell-tesla-p100.plain-vvv.txt");
    const gpu = m.pciDevices.find((d) => d.vendorId === "0x10de");
    expect(gpu).toMatchObject({ classId: "0x03", subclassId: "0x02", productId: undefined });
    const p = plan(m, { nvidiaBranch: "production" });
    expect(extensionsOf(p)).toEqual([
      "intel-ucode",
      "nonfree-kmod-nvidia-lts",
      "nvidia-container-toolkit-lts",
    ]);
    expect(p.warnings.join("\n")).toMatch(/GPUs older than Turing need the LTS branch/);
  });

  it("Supermicro with 2x H100L, plain: GH100 is Hopper (open modules); unnamed AMD devices keep their ids", () => {
    const m = listing("supermicro-2xh100l.plain.txt");
    expect(m.cpu).toEqual({ vendor: "amd", arch: "amd64" });
    // "Advanced Micro Devices, Inc. [AMD] Device 14a4": pci.ids has no name, lspci prints the id.
    expect(m.pciDevices[0]).toMatchObject({ vendorId: "0x1022", productId: "0x14a4" });
    const p = plan(m);
    expect(extensionsOf(p)).toEqual([
      "amd-ucode",
      "nvidia-container-toolkit-lts",
      "nvidia-open-gpu-kernel-modules-lts",
    ]);
    // Solarflare, BCM5720 (tg3) and ConnectX-4 are driven by the Talos kernel.
    expect(p.warnings.filter((w) => w.startsWith("no rule"))).toEqual([]);
  });

  it("Gigabyte with 8x MI50, plain and plain -k: Vega 20 needs amdgpu; the two forms agree", () => {
    const plain = plan(listing("gigabyte-8xmi50.plain.txt"));
    const withDrivers = plan(listing("gigabyte-8xmi50.plain-k.txt"));
    expect(extensionsOf(plain)).toEqual(["amd-ucode", "amdgpu"]);
    expect(withDrivers.id).toBe(plain.id);
  });

  it("AWS g2 (Xen HVM) with a GRID K520, plain -vv: Kepler gets no driver; a Xen guest, no microcode", () => {
    const p = plan(listing("aws-g2-xen-gridk520.plain-vv.txt"));
    expect(extensionsOf(p)).toEqual(["xen-guest-agent"]);
    expect(rulesOf(p)).toContain("nvidia-gpu-unsupported");
  });

  it("Zotac ZBOX with HD 630, plain -vk: Kaby Lake graphics need i915", () => {
    expect(extensionsOf(plan(listing("zotac-zbox-hd630.plain-vk.txt")))).toEqual([
      "i915",
      "intel-ucode",
    ]);
  });
});

// Composed listings: devices and ids from the PCI ID Repository.
const STRIX_HALO = `00:00.0 Host bridge [0600]: Advanced Micro Devices, Inc. [AMD] Strix Halo Root Complex [1022:1507]
c2:00.0 Ethernet controller [0200]: Realtek Semiconductor Co., Ltd. RTL8125 2.5GbE Controller [10ec:8125] (rev 05)
c3:00.0 Network controller [0280]: MEDIATEK Corp. MT7925 802.11be 160MHz 2x2 PCIe Wireless Network Adapter [Filogic 360] [14c3:7925]
c5:00.0 Display controller [0380]: Advanced Micro Devices, Inc. [AMD/ATI] Strix Halo [Radeon Graphics / Radeon 8050S / 8060S Graphics] [1002:1586] (rev c1)
c5:00.1 Audio device [0403]: Advanced Micro Devices, Inc. [AMD/ATI] Radeon High Definition Audio Controller [Rembrandt/Strix] [1002:1640]
`;

describe("machines without a fixture", () => {
  it("Strix Halo (Ryzen AI Max+ 395, 128 GiB): amdgpu and GTT over all but 4 GiB, the arithmetic in the reason", () => {
    const m = { ...inventoryFromLspci(STRIX_HALO, "evo-x2"), memoryMiB: 131072 };
    const p = plan(m);
    expect(extensionsOf(p)).toEqual(["amd-ucode", "amdgpu", "realtek-firmware"]);
    // The values Strix Halo owners set for 128 GiB: 124 GiB of GTT, in MiB and in 4 KiB pages.
    expect(p.schematic.customization.extraKernelArgs).toEqual([
      "amdgpu.gttsize=126976",
      "ttm.pages_limit=32505856",
      "ttm.page_pool_size=32505856",
    ]);
    const reason = p.reasons.find((r) => r.rule === "amd-apu-unified-memory");
    expect(reason?.because).toContain(
      "memory 131072 MiB - 4096 MiB kept for the host = 126976 MiB of GTT (amdgpu.gttsize); 126976 MiB x 256 pages of 4 KiB = 32505856 pages (ttm.pages_limit, ttm.page_pool_size)",
    );
  });

  it("Strix Halo with 64 GiB from a flag: 60 GiB of GTT", () => {
    const p = plan(inventoryFromLspci(STRIX_HALO), { memoryMiB: 65536 });
    expect(p.schematic.customization.extraKernelArgs).toEqual([
      "amdgpu.gttsize=61440",
      "ttm.pages_limit=15728640",
      "ttm.page_pool_size=15728640",
    ]);
  });

  it("Strix Halo from lspci alone: no GTT arguments, and a warning that asks for the memory size", () => {
    const p = plan(inventoryFromLspci(STRIX_HALO));
    expect(p.schematic.customization.extraKernelArgs).toBeUndefined();
    expect(p.warnings.join("\n")).toMatch(
      /amd-apu-unified-memory: the inventory has no memory size.*give the memory size/,
    );
    expect(() => plan(inventoryFromLspci(STRIX_HALO), { memoryMiB: -1 })).toThrow(
      HardwareOptionError,
    );
  });

  it("a Phoenix (Radeon 780M) mini PC gets GTT arguments only when asked to run models (intent llm)", () => {
    const phoenix = inventoryFromJson({
      cpu: { vendor: "amd", arch: "amd64" },
      memoryMiB: 98304,
      pciDevices: [
        { classId: "0x03", subclassId: "0x00", vendorId: "0x1002", productId: "0x15bf" },
      ],
    });
    expect(plan(phoenix).schematic.customization.extraKernelArgs).toBeUndefined();
    expect(plan(phoenix, { intents: ["llm"] }).schematic.customization.extraKernelArgs).toEqual([
      "amdgpu.gttsize=94208",
      "ttm.pages_limit=24117248",
      "ttm.page_pool_size=24117248",
    ]);
  });

  it("HGX A100 with NVSwitch (gen 2), production branch: modules, toolkit and fabric manager all production", () => {
    const hgx = `00:00.0 Host bridge [0600]: Advanced Micro Devices, Inc. [AMD] Starship/Matisse Root Complex [1022:1480]
07:00.0 3D controller [0302]: NVIDIA Corporation GA100 [A100 SXM4 80GB] [10de:20b2] (rev a1)
0f:00.0 3D controller [0302]: NVIDIA Corporation GA100 [A100 SXM4 80GB] [10de:20b2] (rev a1)
c4:00.0 Bridge [0680]: NVIDIA Corporation GA100 [A100 NVSwitch] [10de:1af1] (rev a1)
c5:00.0 Bridge [0680]: NVIDIA Corporation GA100 [A100 NVSwitch] [10de:1af1] (rev a1)
`;
    const p = plan(inventoryFromLspci(hgx), { nvidiaBranch: "production" });
    expect(extensionsOf(p)).toEqual([
      "amd-ucode",
      "nvidia-container-toolkit-production",
      "nvidia-fabricmanager-production",
      "nvidia-open-gpu-kernel-modules-production",
    ]);
    expect(p.reasons.find((r) => r.rule === "nvidia-nvswitch")?.because).toContain(
      "pci c4:00.0 [10de:1af1] NVIDIA Corporation GA100 [A100 NVSwitch]".replace(
        "pci ",
        "pci 0000:",
      ),
    );
  });

  it("a GTX 680 (Kepler, 10de:1180) workstation: reported unsupported, no NVIDIA extension", () => {
    const p = plan(
      inventoryFromLspci(
        "00:00.0 Host bridge [0600]: Intel Corporation Xeon E3-1200 v2/3rd Gen Core processor DRAM Controller [8086:0150] (rev 09)\n01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GK104 [GeForce GTX 680] [10de:1180] (rev a1)\n",
      ),
    );
    expect(extensionsOf(p)).toEqual(["intel-ucode"]);
    expect(p.reasons.find((r) => r.rule === "nvidia-gpu-unsupported")?.because).toEqual([
      "pci 0000:01:00.0 [10de:1180] NVIDIA Corporation GK104 [GeForce GTX 680]",
    ]);
  });

  it("a Quadro M4000 (Maxwell GM204, 10de:13f1): proprietary modules, the first generation they serve", () => {
    const p = plan(
      inventoryFromLspci(
        "03:00.0 VGA compatible controller [0300]: NVIDIA Corporation GM204GL [Quadro M4000] [10de:13f1] (rev a1)\n",
      ),
    );
    expect(extensionsOf(p)).toEqual(["nonfree-kmod-nvidia-lts", "nvidia-container-toolkit-lts"]);
  });

  it("Raptor Lake desktop with an Arc B580: i915 for the iGPU, xe and mei for Battlemage (Talos 1.12+)", () => {
    const box = inventoryFromLspci(
      "00:00.0 Host bridge [0600]: Intel Corporation Raptor Lake-S 8+16 Host Bridge/DRAM Controller [8086:a700] (rev 01)\n00:02.0 VGA compatible controller [0300]: Intel Corporation Raptor Lake-S GT1 [UHD Graphics 770] [8086:a780] (rev 04)\n03:00.0 VGA compatible controller [0300]: Intel Corporation Battlemage G21 [Arc B580] [8086:e20b]\n",
    );
    expect(extensionsOf(plan(box))).toEqual(["i915", "intel-ucode", "mei", "xe"]);
    // Talos 1.11 has no xe extension: the B580 is reported, the iGPU still served.
    const old = plan(box, { talosVersion: "1.11.0" });
    expect(extensionsOf(old)).toEqual(["i915", "intel-ucode"]);
    expect(old.warnings.join("\n")).toMatch(/intel-gpu-xe: .* older than v1\.12\.0/);
  });

  it("plain lspci of an Arc A770: DG2 by name, i915 and mei", () => {
    const p = plan(
      inventoryFromLspci(
        "03:00.0 VGA compatible controller: Intel Corporation DG2 [Arc A770] (rev 08) (prog-if 00 [VGA controller])\n",
      ),
    );
    expect(extensionsOf(p)).toEqual(["i915", "mei"]);
  });

  it("plain lspci of a Raspberry Pi 5: BCM2712 and RP1 by name, arm64 and the rpi_5 overlay", () => {
    const pi = inventoryFromLspci(
      "0000:00:00.0 PCI bridge: Broadcom Inc. and subsidiaries BCM2712 PCIe Bridge (rev 21)\n0001:01:00.0 Ethernet controller: Raspberry Pi Ltd RP1 PCIe 2.0 South Bridge\n",
    );
    expect(pi.cpu).toEqual({ vendor: "arm", arch: "arm64" });
    const p = plan(pi);
    expect(p.schematic.overlay?.name).toBe("rpi_5");
    expect(rulesOf(p)).toEqual(["raspberry-pi-5"]);
  });

  it("an Ampere Altra (arm64) with a Radeon Pro W6800: amdgpu has no arm64 content, so it is left out and said so", () => {
    const altra = inventoryFromJson({
      cpu: { vendor: "arm", arch: "arm64" },
      pciDevices: [
        { classId: "0x03", subclassId: "0x00", vendorId: "0x1002", productId: "0x73a3" },
        { classId: "0x02", subclassId: "0x00", vendorId: "0x15b3", productId: "0x1017" },
      ],
    });
    const p = plan(altra);
    expect(extensionsOf(p)).toEqual([]);
    expect(p.warnings).toContain(
      "amdgpu has content for amd64 only: left out of the arm64 schematic",
    );
  });

  it("Proxmox VM with an RTX 4090 passed through: guest agent and open modules (Ada)", () => {
    const vm = inventoryFromLspci(
      "00:00.0 Host bridge [0600]: Intel Corporation 82G33/G31/P35/P31 Express DRAM Controller [8086:29c0]\n00:12.0 Ethernet controller [0200]: Red Hat, Inc. Virtio network device [1af4:1000]\n01:00.0 VGA compatible controller [0300]: NVIDIA Corporation AD102 [GeForce RTX 4090] [10de:2684] (rev a1)\n",
    );
    expect(extensionsOf(plan(vm))).toEqual([
      "nvidia-container-toolkit-lts",
      "nvidia-open-gpu-kernel-modules-lts",
      "qemu-guest-agent",
    ]);
  });
});

describe("extension names per version", () => {
  it("refuses a version older than the catalog, whose names differ, unless a catalog is given", () => {
    const m = listing("dell-tesla-p100.plain-vvv.txt");
    expect(() => plan(m, { talosVersion: "1.7.0" })).toThrow(HardwareOptionError);
    // A Talos 1.7 catalog (as a factory lists it) has the NVIDIA names from before the LTS split.
    const catalog = {
      version: "v1.7.0",
      extensions: ["nonfree-kmod-nvidia", "nvidia-container-toolkit", "intel-ucode"].map((n) => ({
        name: `siderolabs/${n}`,
        ref: `ghcr.io/siderolabs/${n}:v1.7.0`,
        digest: "sha256:0",
        author: "Sidero Labs",
        description: "",
      })),
      overlays: [],
    };
    const p = plan(m, { talosVersion: "1.7.0", catalog });
    expect(extensionsOf(p)).toEqual([
      "intel-ucode",
      "nonfree-kmod-nvidia",
      "nvidia-container-toolkit",
    ]);
    expect(p.warnings).toContain(
      "nvidia-gpu-proprietary: Talos v1.7.0 names extension nonfree-kmod-nvidia-lts nonfree-kmod-nvidia (renamed in 1.8): using nonfree-kmod-nvidia",
    );
  });

  it("parses no device whose id plain lspci cannot give when it matters", () => {
    expect(() =>
      parseLspci("05:00.0 Ethernet controller: Unknown Networks Ltd. Fast NIC 9000\n"),
    ).toThrow(InventoryParseError);
  });
});

describe("fleet grouping by schematic ID", () => {
  it("shows nodes that share an ID across architectures: the ID names the same schematic on both", () => {
    const amd64Nic = inventoryFromJson({
      name: "x86-worker",
      cpu: { vendor: "intel", arch: "amd64" },
      system: { manufacturer: "Amazon EC2", productName: "m7i.large" },
      pciDevices: [
        { classId: "0x02", subclassId: "0x00", vendorId: "0x10ec", productId: "0x8125" },
      ],
    });
    const arm64Nic = inventoryFromJson({
      name: "altra-worker",
      cpu: { vendor: "arm", arch: "arm64" },
      pciDevices: [
        { classId: "0x02", subclassId: "0x00", vendorId: "0x10ec", productId: "0x8125" },
      ],
    });
    const plans = [plan(amd64Nic), plan(arm64Nic)];
    // Both need realtek-firmware alone (no microcode: one is an EC2 instance, the other arm64).
    expect(plans.map(extensionsOf)).toEqual([["realtek-firmware"], ["realtek-firmware"]]);
    expect(groupBySchematicId(plans)).toEqual([
      {
        id: plans[0]?.id,
        arches: ["amd64", "arm64"],
        platforms: ["aws", "metal"],
        machines: ["x86-worker", "altra-worker"],
      },
    ]);
  });
});
