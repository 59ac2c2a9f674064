import { readFileSync } from "node:fs";
import { TalosError } from "@taloskit/core";
import { describe, expect, it } from "vitest";
import { groupBySchematic, schematicDrift } from "../../src/hardware/fleet.js";
import { inventoryFromJson } from "../../src/hardware/inventory.js";
import {
  HardwareOptionError,
  normalizeVersion,
  planHardware,
  type ResolveOptions,
} from "../../src/hardware/resolve.js";
import { defaultRules, parseRules, RuleError } from "../../src/hardware/rules.js";
import { inventoryFromLspci } from "../../src/hardware/sources/lspci.js";

const fixture = (name: string) =>
  inventoryFromLspci(
    readFileSync(new URL(`../fixtures/lspci/${name}.txt`, import.meta.url), "utf8"),
    name,
  );

function plan(name: string, options: Partial<ResolveOptions> = {}) {
  return planHardware(fixture(name), { talosVersion: "v1.14.0", ...options });
}

const NVIDIA_MODULES = ["nvidia", "nvidia_uvm", "nvidia_drm", "nvidia_modeset"];

describe("hardware resolution of real machines (lspci fixtures, Talos v1.14)", () => {
  it("HGX H100 with NVSwitch: open modules, toolkit and fabric manager of one branch, Intel microcode", () => {
    const p = plan("hgx-h100");
    expect(p.schematic.customization.systemExtensions?.officialExtensions).toEqual([
      "siderolabs/intel-ucode",
      "siderolabs/nvidia-container-toolkit-lts",
      "siderolabs/nvidia-fabricmanager-lts",
      "siderolabs/nvidia-open-gpu-kernel-modules-lts",
    ]);
    expect(p.kernelModules.map((m) => m.name)).toEqual(NVIDIA_MODULES);
    expect(p.sysctls).toEqual({ "net.core.bpf_jit_harden": "1" });
    expect(p.platform).toBe("metal");
    expect(p.warnings).toEqual([]);
    const fabric = p.reasons.find((r) => r.rule === "nvidia-nvswitch");
    expect(fabric?.because).toHaveLength(4);
    expect(fabric?.because[0]).toContain("[10de:22a3]");
    expect(p.reasons.find((r) => r.rule === "nvidia-gpu-open")?.because).toHaveLength(8);
  });

  it("consumer RTX workstation: open modules, AMD microcode, Realtek firmware, and a Wi-Fi warning", () => {
    const p = plan("rtx-workstation");
    expect(p.schematic.customization.systemExtensions?.officialExtensions).toEqual([
      "siderolabs/amd-ucode",
      "siderolabs/nvidia-container-toolkit-lts",
      "siderolabs/nvidia-open-gpu-kernel-modules-lts",
      "siderolabs/realtek-firmware",
    ]);
    expect(p.warnings).toEqual([
      "Wi-Fi adapter found: Talos does not support Wi-Fi; use wired networking",
    ]);
  });

  it("the production branch is used when asked for and the GPUs allow it", () => {
    const p = plan("rtx-workstation", { nvidiaBranch: "production" });
    expect(p.schematic.customization.systemExtensions?.officialExtensions).toContain(
      "siderolabs/nvidia-open-gpu-kernel-modules-production",
    );
  });

  it("Pascal GTX box: proprietary modules on the LTS branch, even when production is asked for", () => {
    const p = plan("pascal-desktop", { nvidiaBranch: "production" });
    expect(p.schematic.customization.systemExtensions?.officialExtensions).toEqual([
      "siderolabs/i915",
      "siderolabs/intel-ucode",
      "siderolabs/nonfree-kmod-nvidia-lts",
      "siderolabs/nvidia-container-toolkit-lts",
    ]);
    expect(p.warnings).toContain(
      "NVIDIA production branch requested, but GPUs older than Turing need the LTS branch: using lts",
    );
    expect(p.reasons.find((r) => r.rule === "nvidia-gpu-proprietary")?.because[0]).toContain(
      "GeForce GTX 1080 Ti",
    );
  });

  it("AMD Radeon workstation: amdgpu and AMD microcode; Intel and Aquantia NICs need nothing", () => {
    const p = plan("radeon-workstation");
    expect(p.schematic.customization.systemExtensions?.officialExtensions).toEqual([
      "siderolabs/amd-ucode",
      "siderolabs/amdgpu",
    ]);
    expect(p.warnings).toEqual([]);
  });

  it("Intel NUC: i915, Intel microcode and Thunderbolt", () => {
    const p = plan("intel-nuc");
    expect(p.schematic.customization.systemExtensions?.officialExtensions).toEqual([
      "siderolabs/i915",
      "siderolabs/intel-ucode",
      "siderolabs/thunderbolt",
    ]);
  });

  it("virtual machines get their guest agent and platform, and no microcode", () => {
    const proxmox = plan("proxmox-vm");
    expect(proxmox.schematic.customization.systemExtensions?.officialExtensions).toEqual([
      "siderolabs/qemu-guest-agent",
    ]);
    expect(proxmox.platform).toBe("metal");
    const vmware = plan("vmware-vm");
    expect(vmware.schematic.customization.systemExtensions?.officialExtensions).toEqual([
      "siderolabs/vmtoolsd-guest-agent",
    ]);
    expect(vmware.platform).toBe("vmware");
    const hyperv = plan("hyperv-vm");
    expect(hyperv.schematic.customization.systemExtensions?.officialExtensions).toEqual([
      "siderolabs/hyperv-guest-agent",
    ]);
    const aws = plan("aws-instance");
    expect(aws.schematic.customization.systemExtensions?.officialExtensions).toEqual([
      "siderolabs/amazon-ena",
    ]);
    expect(aws.platform).toBe("aws");
  });

  it("a rule whose effects need a newer Talos warns instead (Hyper-V agent before v1.14)", () => {
    const p = plan("hyperv-vm", { talosVersion: "v1.13.9" });
    expect(p.schematic.customization.systemExtensions).toBeUndefined();
    expect(p.warnings[0]).toMatch(/^hyperv-guest: .* older than v1\.14\.0/);
  });

  it("Raspberry Pi 4 and 5: the right overlay, arm64, no extensions", () => {
    const pi4 = plan("raspberry-pi-4");
    expect(pi4.arch).toBe("arm64");
    expect(pi4.schematic).toEqual({
      overlay: { name: "rpi_generic", image: "siderolabs/sbc-raspberrypi" },
      customization: {},
    });
    const pi5 = plan("raspberry-pi-5");
    expect(pi5.schematic.overlay?.name).toBe("rpi_5");
    expect(pi5.warnings).toEqual([]);
  });

  it("intents add storage extensions and patches", () => {
    const p = plan("proxmox-vm", { intents: ["longhorn", "drbd", "made-up"] });
    expect(p.schematic.customization.systemExtensions?.officialExtensions).toEqual([
      "siderolabs/drbd",
      "siderolabs/iscsi-tools",
      "siderolabs/qemu-guest-agent",
      "siderolabs/util-linux-tools",
    ]);
    expect(p.kernelModules).toEqual([
      { name: "drbd", parameters: ["usermode_helper=disabled"] },
      { name: "drbd_transport_tcp" },
    ]);
    expect(p.machinePatches).toHaveLength(1);
    expect(p.warnings).toContain('unknown intent "made-up": no rule serves it');
  });

  it("drops extensions that the target version's catalog lacks, and says so", () => {
    const p = plan("hgx-h100", {
      extensionAvailable: (name) => name !== "nvidia-fabricmanager-lts",
    });
    expect(p.schematic.customization.systemExtensions?.officialExtensions).not.toContain(
      "siderolabs/nvidia-fabricmanager-lts",
    );
    expect(p.warnings).toContain(
      "nvidia-nvswitch: extension nvidia-fabricmanager-lts does not exist for Talos v1.14.0",
    );
  });

  it("mixed pre-Turing and Blackwell GPUs cannot share a driver, and the result says so", () => {
    const machine = inventoryFromJson({
      cpu: { vendor: "amd", arch: "amd64" },
      pciDevices: [
        {
          classId: "0x03",
          subclassId: "0x00",
          vendorId: "0x10de",
          productId: "0x1b06",
          product: "GTX 1080 Ti",
        },
        {
          classId: "0x03",
          subclassId: "0x00",
          vendorId: "0x10de",
          productId: "0x2b85",
          product: "RTX 5090",
        },
      ],
    });
    const p = planHardware(machine, { talosVersion: "1.14.0" });
    expect(p.schematic.customization.systemExtensions?.officialExtensions).toContain(
      "siderolabs/nonfree-kmod-nvidia-lts",
    );
    expect(p.warnings.some((w) => w.startsWith("NVIDIA Blackwell GPUs"))).toBe(true);
  });

  it("lists devices that may need a driver when no rule explains them", () => {
    const machine = inventoryFromJson({
      pciDevices: [
        {
          classId: "0x12",
          subclassId: "0x00",
          vendorId: "0xabcd",
          productId: "0x0001",
          vendor: "Acme",
        },
      ],
    });
    expect(planHardware(machine, { talosVersion: "1.14" }).warnings).toEqual([
      "no rule for pci [abcd:0001] Acme: it may need a driver or firmware extension",
    ]);
  });
});

describe("user rules", () => {
  it("extends the defaults with a rule read from JSON", () => {
    const mine = parseRules([
      {
        id: "acme-accelerator",
        summary: "Acme cards need the acme extension",
        when: { pci: { vendor: ["0xabcd"] } },
        extensions: ["acme"],
      },
    ]);
    const machine = inventoryFromJson({
      pciDevices: [{ classId: "0x12", subclassId: "0x00", vendorId: "0xABCD", productId: "0x1" }],
    });
    // Checked against the target version's catalog by default: acme is not an official extension.
    const checked = planHardware(machine, {
      talosVersion: "v1.14.0",
      rules: [...defaultRules, ...mine],
    });
    expect(checked.schematic.customization.systemExtensions).toBeUndefined();
    expect(checked.warnings).toContain(
      "acme-accelerator: extension acme does not exist for Talos v1.14.0",
    );
    const p = planHardware(machine, {
      talosVersion: "v1.14.0",
      rules: [...defaultRules, ...mine],
      catalog: null,
    });
    expect(p.schematic.customization.systemExtensions?.officialExtensions).toEqual([
      "siderolabs/acme",
    ]);
    expect(p.reasons[0]?.because).toEqual(["pci [abcd:0001]"]);
  });

  it("rejects malformed rules by name and field", () => {
    expect(() => parseRules([{ id: "x", summary: "s", when: { gpu: true } }])).toThrow(RuleError);
    expect(() => parseRules([{ id: "x", summary: "s", when: { pci: { name: "(" } } }])).toThrow(
      'rule "x": invalid regular expression "("',
    );
    expect(() =>
      parseRules([
        { id: "x", summary: "s", when: { intent: "a" } },
        { id: "x", summary: "s", when: { intent: "b" } },
      ]),
    ).toThrow('rule "x": duplicate rule id');
    expect(() => parseRules({})).toThrow("expected a list of rules");
  });
});

describe("fleet and drift", () => {
  it("computes the factory ID offline: a plain VM and a vanilla image differ", () => {
    expect(plan("raspberry-pi-4").id).toMatch(/^[0-9a-f]{64}$/);
    const bare = planHardware(inventoryFromJson({}), { talosVersion: "v1.14.0" });
    expect(bare.id).toBe("376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba");
  });

  it("groups a mixed fleet into one schematic per kind of machine", () => {
    const plans = ["hgx-h100", "hgx-h100", "proxmox-vm", "vmware-vm", "proxmox-vm", "hgx-h100"].map(
      (n) => plan(n),
    );
    const groups = groupBySchematic(plans);
    expect(groups.map((g) => [g.machines.length, g.platform])).toEqual([
      [3, "metal"],
      [2, "metal"],
      [1, "vmware"],
    ]);
    expect(groups[0]?.id).toBe(plan("hgx-h100").id);
  });

  it("shows what a node's running schematic lacks and has extra", () => {
    const wanted = plan("hgx-h100");
    const drift = schematicDrift(
      {
        id: "abc",
        schematic: {
          customization: {
            systemExtensions: {
              officialExtensions: ["siderolabs/intel-ucode", "siderolabs/iscsi-tools"],
            },
          },
        },
      },
      wanted,
    );
    expect(drift.inSync).toBe(false);
    expect(drift.missing).toEqual([
      "siderolabs/nvidia-container-toolkit-lts",
      "siderolabs/nvidia-fabricmanager-lts",
      "siderolabs/nvidia-open-gpu-kernel-modules-lts",
    ]);
    expect(drift.extra).toEqual(["siderolabs/iscsi-tools"]);
    expect(schematicDrift({ id: wanted.id, schematic: wanted.schematic }, wanted).inSync).toBe(
      true,
    );
  });
});

describe("machines without a fixture (inline lspci)", () => {
  const lspci = (text: string) => inventoryFromLspci(text.trim(), "inline");

  it("Dell server with BCM5720 (tg3), Matrox BMC graphics and a PERC: Intel microcode only, no warnings", () => {
    const p = planHardware(
      lspci(`
00:00.0 Host bridge [0600]: Intel Corporation Ice Lake Memory Map/VT-d [8086:09a2] (rev 04)
03:00.0 VGA compatible controller [0300]: Matrox Electronics Systems Ltd. Integrated Matrox G200eW3 Graphics Controller [102b:0536] (rev 04)
04:00.0 Ethernet controller [0200]: Broadcom Inc. and subsidiaries NetXtreme BCM5720 Gigabit Ethernet PCIe [14e4:165f]
04:00.1 Ethernet controller [0200]: Broadcom Inc. and subsidiaries NetXtreme BCM5720 Gigabit Ethernet PCIe [14e4:165f]
31:00.0 RAID bus controller [0104]: Broadcom / LSI MegaRAID 12GSAS/PCIe Secure SAS39xx [1000:10e2]
`),
      { talosVersion: "v1.14.0" },
    );
    expect(p.schematic.customization.systemExtensions?.officialExtensions).toEqual([
      "siderolabs/intel-ucode",
    ]);
    expect(p.warnings).toEqual([]);
  });

  it("Meteor Lake laptop: i915, the NPU driver (Talos 1.13+), Intel microcode", () => {
    const machine = lspci(`
00:00.0 Host bridge [0600]: Intel Corporation Device [8086:7d01] (rev 04)
00:02.0 VGA compatible controller [0300]: Intel Corporation Meteor Lake-P [Intel Arc Graphics] [8086:7d55] (rev 08)
00:0b.0 Processing accelerators [1200]: Intel Corporation Meteor Lake NPU [8086:7d1d] (rev 04)
`);
    expect(
      planHardware(machine, { talosVersion: "v1.14.0" }).schematic.customization.systemExtensions
        ?.officialExtensions,
    ).toEqual(["siderolabs/i915", "siderolabs/intel-npu", "siderolabs/intel-ucode"]);
    const old = planHardware(machine, { talosVersion: "v1.12.0" });
    expect(old.schematic.customization.systemExtensions?.officialExtensions).not.toContain(
      "siderolabs/intel-npu",
    );
    expect(old.warnings.some((w) => w.startsWith("intel-npu: "))).toBe(true);
  });

  it("a card passed through to a QEMU VM is reported even when SMBIOS says QEMU", () => {
    const machine = inventoryFromJson({
      system: { manufacturer: "QEMU", productName: "Standard PC (Q35 + ICH9, 2009)" },
      pciDevices: [
        { classId: "0x02", subclassId: "0x00", vendorId: "0x1af4", productId: "0x1000" },
        { classId: "0x12", subclassId: "0x00", vendorId: "0xabcd", productId: "0x0001" },
      ],
    });
    expect(planHardware(machine, { talosVersion: "v1.14.0" }).warnings).toContain(
      "no rule for pci [abcd:0001]: it may need a driver or firmware extension",
    );
  });
});

describe("target versions", () => {
  it("take the factory's tag form, with or without the patch, keeping a prerelease", () => {
    expect(normalizeVersion("1.14")).toBe("v1.14.0");
    expect(normalizeVersion("v1.13.2")).toBe("v1.13.2");
    expect(normalizeVersion("1.15.0-beta.1")).toBe("v1.15.0-beta.1");
    expect(() => normalizeVersion("latest")).toThrow(TalosError);
    expect(() => normalizeVersion("latest")).toThrow(/invalid Talos version "latest"/);
  });

  it("refuse a target that is not a version with a typed error naming talosVersion", () => {
    const machine = inventoryFromJson({ cpu: { vendor: "intel", arch: "amd64" } });
    let thrown: unknown;
    try {
      planHardware(machine, { talosVersion: "latest" });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(HardwareOptionError);
    expect(thrown).toBeInstanceOf(TalosError);
    expect(thrown).toMatchObject({
      name: "HardwareOptionError",
      code: "HARDWARE_OPTION_INVALID",
      field: "talosVersion",
    });
    expect((thrown as Error).message).toBe(
      'invalid talosVersion "latest": expected v<major>.<minor>.<patch>',
    );
  });

  it("refuse a rule whose talos.min is not a version with a RuleError naming the rule", () => {
    const machine = inventoryFromJson({ cpu: { vendor: "intel", arch: "amd64" } });
    const rules = parseRules([
      { id: "odd", summary: "odd", when: { cpuVendor: ["intel"] }, talos: { min: "soon" } },
    ]);
    expect(() => planHardware(machine, { talosVersion: "v1.14.0", rules })).toThrow(
      expect.objectContaining({
        name: "RuleError",
        code: "HARDWARE_RULE_INVALID",
        message: expect.stringMatching(/^rule "odd": invalid talos\.min "soon"/),
      }),
    );
  });

  it("name a prerelease in the installer image", () => {
    const machine = inventoryFromJson({ cpu: { vendor: "intel", arch: "amd64" } });
    const plan = planHardware(machine, { talosVersion: "1.14.1-beta.0", catalog: null });
    expect(plan.installer).toMatch(/\/metal-installer\/[0-9a-f]{64}:v1\.14\.1-beta\.0$/);
  });
});
