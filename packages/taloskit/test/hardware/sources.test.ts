import { describe, expect, it } from "vitest";
import { InventoryParseError, inventoryFromJson } from "../../src/hardware/inventory.js";
import { planHardware } from "../../src/hardware/resolve.js";
import { inventoryFromLspci, parseLspci } from "../../src/hardware/sources/lspci.js";
import { inventoryFromNfd, nfdLabels } from "../../src/hardware/sources/nfd.js";
import { inventoryFromSysfs } from "../../src/hardware/sources/sysfs.js";
import { inventoryFromTalosResources } from "../../src/hardware/sources/talos.js";

const H100 = { classId: "0x03", subclassId: "0x02", vendorId: "0x10de", productId: "0x2330" };

describe("lspci", () => {
  it("reads the -nnmm, -vmmnnk and -nnk forms of the same device alike", () => {
    const machine = `41:00.0 "3D controller [0302]" "NVIDIA Corporation [10de]" "GH100 [H100 SXM5 80GB] [2330]" -ra1 "NVIDIA Corporation [10de]" "Device [16c1]"`;
    const verbose =
      "Slot:\t41:00.0\nClass:\t3D controller [0302]\nVendor:\tNVIDIA Corporation [10de]\nDevice:\tGH100 [H100 SXM5 80GB] [2330]\nSVendor:\tNVIDIA Corporation [10de]\nSDevice:\tDevice [16c1]\nDriver:\tnvidia\nModule:\tnvidia\nModule:\tnouveau\n";
    const human =
      "41:00.0 3D controller [0302]: NVIDIA Corporation GH100 [H100 SXM5 80GB] [10de:2330] (rev a1)\n\tSubsystem: NVIDIA Corporation Device [10de:16c1]\n\tKernel driver in use: nvidia\n";
    for (const text of [machine, verbose, human]) {
      expect(parseLspci(text)[0]).toMatchObject({
        ...H100,
        // lspci leaves out PCI domain 0000; the inventory names slots as sysfs and Talos do.
        slot: "0000:41:00.0",
        subsystemId: "0x16c1",
      });
    }
    expect(parseLspci(verbose)[0]?.driver).toBe("nvidia");
    expect(parseLspci(machine)[0]?.product).toBe("GH100 [H100 SXM5 80GB]");
  });

  it("infers the CPU vendor and arch from the host bridge", () => {
    const amd = inventoryFromLspci(
      "00:00.0 Host bridge [0600]: AMD Starship/Matisse Root Complex [1022:1480]",
    );
    expect(amd.cpu).toEqual({ vendor: "amd", arch: "amd64" });
  });

  it("rejects text without numeric ids where names cannot stand for them, naming the line", () => {
    // An NVIDIA GPU's driver depends on its generation: a marketing name alone does not say it.
    expect(() =>
      parseLspci("01:00.0 VGA compatible controller: NVIDIA Corporation GeForce Graphics"),
    ).toThrow(
      /lspci: line 1: no device id or chip name tells the NVIDIA GPU's generation in .*: run lspci with -nn/,
    );
    expect(() => parseLspci("01:00.0 Frobnicator: Intel Corporation Thing")).toThrow(
      /lspci: line 1: unknown device class "Frobnicator" .*: run lspci with -nn/,
    );
    expect(() => parseLspci("01:00.0 Something weird without a colon")).toThrow(
      /lspci: line 1: not an lspci -nn device line/,
    );
    expect(() => parseLspci('00:02.0 "VGA compatible controller" "Intel" "UHD"')).toThrow(
      'lspci: line 1: "VGA compatible controller" has no [hhhh] id: run lspci with -nn',
    );
    expect(() => parseLspci('00:02.0 "VGA compatible controller [0300]')).toThrow(
      InventoryParseError,
    );
    expect(() => parseLspci("Slot:\t00:02.0\nClass:\tVGA [0300]\n")).toThrow(
      "record has no Vendor",
    );
    expect(() => parseLspci("  \n")).toThrow("lspci: no devices: the input is empty");
  });
});

describe("lspci captures as people paste them", () => {
  it("skips -xxx config-space dumps and grep's -- separators", () => {
    const text = [
      "00:02.0 VGA compatible controller [0300]: Intel Corporation Device [8086:4680] (rev 0c)",
      "00: 86 80 80 46 07 04 10 00 0c 00 00 03 00 00 00 00",
      "10: 04 00 00 a0 60 00 00 00 0c 00 00 80 40 00 00 00",
      "--",
      "01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GA102 [GeForce RTX 3090] [10de:2204] (rev a1)",
      "\tKernel driver in use: nvidia",
    ].join("\n");
    expect(parseLspci(text).map((d) => [d.vendorId, d.productId, d.driver])).toEqual([
      ["0x8086", "0x4680", undefined],
      ["0x10de", "0x2204", "nvidia"],
    ]);
    // A line that is neither still fails, with its number.
    expect(() => parseLspci(`${text}\n00: not bytes`)).toThrow(/line 7/);
  });
});

describe("Node Feature Discovery labels", () => {
  const node = {
    kind: "Node",
    metadata: {
      name: "gpu-1",
      labels: {
        "kubernetes.io/arch": "amd64",
        "feature.node.kubernetes.io/cpu-model.vendor_id": "Intel",
        "feature.node.kubernetes.io/pci-0302_10de.present": "true",
        "feature.node.kubernetes.io/pci-0200_8086.present": "true",
      },
    },
  };

  it("reads a node from kubectl JSON, and says when device ids are missing", () => {
    const [[name, labels]] = [...nfdLabels(JSON.stringify({ kind: "List", items: [node] }))] as [
      [string, Record<string, string>],
    ];
    const machine = inventoryFromNfd(labels, name);
    expect(machine.cpu).toEqual({ vendor: "intel", arch: "amd64" });
    expect(machine.pciDevices).toHaveLength(2);
    const plan = planHardware(machine, { talosVersion: "v1.14.0" });
    // Without a device id the generation is unknown: no NVIDIA rule can choose a driver.
    expect(plan.schematic.customization.systemExtensions?.officialExtensions).toEqual([
      "siderolabs/intel-ucode",
    ]);
    expect(plan.warnings).toContain(
      "the inventory has no PCI device ids (NFD labels): GPU generations could not be told apart",
    );
  });

  it("uses device ids when NFD is configured to label them", () => {
    const machine = inventoryFromNfd({
      "feature.node.kubernetes.io/pci-0302_10de_2330.present": "true",
    });
    expect(machine.pciDevices[0]).toMatchObject(H100);
    expect(machine.partialPciIds).toBe(false);
  });

  it("reads key=value lines and rejects malformed ones", () => {
    expect(nfdLabels("kubernetes.io/arch=arm64\n").get("node")).toEqual({
      "kubernetes.io/arch": "arm64",
    });
    expect(() => nfdLabels("no-equals-sign")).toThrow(
      'nfd: line 1: expected key=value, got "no-equals-sign"',
    );
    expect(() => nfdLabels("{broken")).toThrow(/nfd: not valid JSON/);
  });
});

describe("sysfs listing", () => {
  it("reads PCI attributes, drivers, DMI, device tree and arch", () => {
    const text = [
      "/sys/bus/pci/devices/0000:01:00.0/class:0x030200",
      "/sys/bus/pci/devices/0000:01:00.0/vendor:0x10de",
      "/sys/bus/pci/devices/0000:01:00.0/device:0x2330",
      "/sys/bus/pci/devices/0000:01:00.0/driver -> ../../../../bus/pci/drivers/nvidia",
      "/sys/class/dmi/id/sys_vendor:Supermicro",
      "arch:x86_64",
      "vendor_id\t: GenuineIntel",
    ].join("\n");
    const machine = inventoryFromSysfs(text);
    expect(machine.pciDevices[0]).toMatchObject({
      ...H100,
      slot: "0000:01:00.0",
      driver: "nvidia",
    });
    expect(machine.system.manufacturer).toBe("Supermicro");
    expect(machine.cpu).toEqual({ vendor: "intel", arch: "amd64" });
  });

  it("rejects unknown lines and devices without a class", () => {
    expect(() => inventoryFromSysfs("hello")).toThrow('sysfs: line 1: unrecognized line "hello"');
    expect(() => inventoryFromSysfs("/sys/bus/pci/devices/0000:01:00.0/vendor:0x10de")).toThrow(
      "device 0000:01:00.0 lacks its class or vendor file",
    );
  });
});

describe("Talos resources and JSON", () => {
  it("maps COSI hardware specs into the inventory", () => {
    const machine = inventoryFromTalosResources({
      node: "10.5.0.2",
      arch: "amd64",
      systemInformation: { manufacturer: "QEMU", productName: "Standard PC (Q35 + ICH9, 2009)" },
      cpuCores: [{ vendorID: "AuthenticAMD", modelName: "AMD EPYC 9654" }],
      pciDevices: [
        {
          id: "0000:00:03.0",
          spec: {
            class_id: "0x02",
            subclass_id: "0x00",
            vendor_id: "0x1af4",
            product_id: "0x1000",
          },
        },
      ],
      memoryModules: [{ sizeMiB: 8192 }, { sizeMiB: 8192 }],
    });
    expect(machine.cpu.vendor).toBe("amd");
    expect(machine.memoryMiB).toBe(16384);
    const plan = planHardware(machine, { talosVersion: "1.14.0" });
    expect(plan.schematic.customization.systemExtensions?.officialExtensions).toEqual([
      "siderolabs/qemu-guest-agent",
    ]);
    expect(plan.reasons[0]?.because).toEqual([
      'system manufacturer "QEMU"',
      "pci 0000:00:03.0 [1af4:1000]",
    ]);
  });

  it("names the field of a bad hand-written inventory", () => {
    expect(() =>
      inventoryFromJson({
        pciDevices: [{ classId: "zz", subclassId: "0x00", vendorId: "0x10de" }],
      }),
    ).toThrow("json inventory: pciDevices.0.classId: must be a hexadecimal id such as 0x10de");
    expect(() => inventoryFromJson("{")).toThrow(/^json inventory: /);
    expect(() => inventoryFromJson({ cpu: { arch: "riscv64" } })).toThrow(/cpu\.arch/);
  });
});
