// Property tests of the inventory sources and the rule reader: for any input,
// a valid result or an InventoryParseError / RuleError that names the field,
// never a ZodError or TypeError; and linear work with a size limit.
import fc from "fast-check";
import {
  InventoryParseError,
  inventoryFromJson,
  inventoryFromLspci,
  inventoryFromNfd,
  inventoryFromSysfs,
  inventoryFromTalosResources,
  MAX_INVENTORY_TEXT,
  nfdLabels,
  parseLspci,
  parseRules,
  RuleError,
} from "taloskit";
import { describe, expect, it } from "vitest";
import {
  deepJson,
  FUZZ,
  fieldPaths,
  nastyString,
  nastyValue,
  OBJECT_KEYS,
  typedOrValid,
  withField,
} from "../../../../test/fuzz/fuzz.js";

const typed = <T>(run: () => T, names?: string) => typedOrValid(run, InventoryParseError, names);

const NFD = "feature.node.kubernetes.io/";
const SYSFS_OK = [
  "/sys/bus/pci/devices/0000:01:00.0/class:0x030000",
  "/sys/bus/pci/devices/0000:01:00.0/vendor:0x10de",
  "/sys/bus/pci/devices/0000:01:00.0/device:0x2204",
  "/sys/bus/pci/devices/0000:01:00.0/driver -> ../../../bus/pci/drivers/nvidia",
  "arch:x86_64",
  "vendor_id\t: GenuineIntel",
].join("\n");
const LSPCI_LINES = [
  "01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GA102 [GeForce RTX 3090] [10de:2204] (rev a1) (prog-if 00 [VGA controller])",
  "\tSubsystem: NVIDIA Corporation Device [10de:147d]",
  "\tKernel driver in use: nvidia",
  "\tKernel modules: nouveau, nvidia",
  "00: de 10 04 22 07 04 10 00 a1 00 00 03 10 00 80 00",
  "--",
  '00:02.0 "VGA compatible controller [0300]" "Intel Corporation [8086]" "UHD Graphics 620 [5917]" -r07 "Lenovo [17aa]" "Device [225d]"',
  "Slot:\t41:00.0",
  "Class:\t3D controller [0302]",
  "Vendor:\tNVIDIA Corporation [10de]",
  "Device:\tGH100 [2330]",
  "Driver:\tnvidia",
  "",
  "00:1f.3 Audio device: Intel Corporation Cannon Lake PCH cAVS (rev 10)",
];
const INVENTORY = {
  source: "json",
  name: "n1",
  cpu: { vendor: "intel", arch: "amd64", model: "Xeon" },
  system: { manufacturer: "Dell", productName: "R760" },
  board: { model: "Pi", compatible: ["raspberrypi,5-model-b"] },
  memoryMiB: 1024,
  pciDevices: [{ slot: "0000:01:00.0", classId: "0x03", subclassId: "0x00", vendorId: "0x10de" }],
  disks: [{ name: "sda", sizeBytes: 1, model: "x", transport: "sata", rotational: false }],
  partialPciIds: false,
  running: { talosVersion: "v1.11.0", schematicId: "abc" },
};
const RESOURCES = {
  node: "10.0.0.1",
  arch: "amd64",
  systemInformation: { manufacturer: "QEMU", productName: "Standard PC" },
  processors: [{ manufacturer: "Intel", productName: "Xeon" }],
  cpuCores: [{ vendorID: "GenuineIntel", modelName: "Xeon", flags: ["lm"] }],
  pciDevices: [
    { id: "0000:00:00.0", spec: { class_id: "0x06", subclass_id: "0x00", vendor_id: "0x8086" } },
  ],
  memoryModules: [{ sizeMiB: 1024 }],
  disks: [{ id: "sda", spec: { size: 10, model: "disk", rotational: true } }],
  talosVersion: "v1.11.0",
  schematicId: "abc",
};

/** Random text made of pieces of real inputs, cut and mixed with adversarial text. */
function textFrom(lines: string[]): fc.Arbitrary<string> {
  const piece = fc.oneof(
    fc.constantFrom(...lines),
    fc
      .tuple(fc.constantFrom(...lines), fc.nat(), fc.nat())
      .map(([l, a, b]) =>
        l.slice(Math.min(a, b) % (l.length + 1), Math.max(a, b) % (l.length + 1)),
      ),
    nastyString,
  );
  return fc
    .array(
      fc.array(piece, { maxLength: 3 }).map((p) => p.join("")),
      { maxLength: 8 },
    )
    .map((ls) => ls.join("\n"));
}

describe("regressions from the outside fuzz campaign", () => {
  it("an NFD label whose value is a number or a list is an InventoryParseError naming the label", () => {
    for (const value of [1, ["true"], null, { a: 1 }]) {
      const labels = { [`${NFD}pci-0300_10de.present`]: "true", "kubernetes.io/arch": value };
      expect(() => inventoryFromNfd(labels as never)).toThrow(
        /nfd: labels: label "kubernetes.io\/arch" is/,
      );
      const node = JSON.stringify({ metadata: { name: "w1", labels } });
      expect(() => nfdLabels(node)).toThrow(InventoryParseError);
      expect(() => nfdLabels(node)).toThrow(/label "kubernetes.io\/arch"/);
    }
    expect(() => inventoryFromNfd({ [`${NFD}cpu-model.vendor_id`]: 7 } as never)).toThrow(
      InventoryParseError,
    );
  });

  it("a sysfs vendor of zz is an InventoryParseError naming the field", () => {
    const text = SYSFS_OK.replace("vendor:0x10de", "vendor:zz");
    expect(() => inventoryFromSysfs(text)).toThrow(InventoryParseError);
    expect(() => inventoryFromSysfs(text)).toThrow(/sysfs: pciDevices\.0\.vendorId: must be/);
  });

  it("key=value labels named after object members stay labels (no prototype)", () => {
    const labels = nfdLabels("__proto__=x\nconstructor=y\nkubernetes.io/arch=arm64")?.get("node");
    expect(Object.getPrototypeOf(labels)).toBe(null);
    expect(Object.entries(labels ?? {})).toEqual([
      ["__proto__", "x"],
      ["constructor", "y"],
      ["kubernetes.io/arch", "arm64"],
    ]);
    expect(inventoryFromNfd(labels as Record<string, string>).cpu.arch).toBe("arm64");
  });

  it("NFD input that is not a node, list or labels object is refused by name", () => {
    expect(() => nfdLabels("[1]")).toThrow(/nfd: expected a node/);
    expect(() => nfdLabels(null as never)).toThrow(InventoryParseError);
    expect(() => nfdLabels('{"items": 3}')).toThrow(/items is a number/);
    expect(() => nfdLabels('{"metadata": {"name": 3, "labels": {}}}')).toThrow(/metadata\.name/);
  });

  it("Talos resources of the wrong shape are refused by field", () => {
    const cases: [unknown, RegExp][] = [
      [{ ...RESOURCES, memoryModules: "x" }, /memoryModules is a string, not a list/],
      [{ ...RESOURCES, pciDevices: [null] }, /pciDevices\.0 is null/],
      [{ ...RESOURCES, disks: [{ id: "sda", spec: null }] }, /disks\.0\.spec is null/],
      [{ ...RESOURCES, arch: 5 }, /arch is a number/],
      [{ ...RESOURCES, node: ["x"] }, /node is a list/],
      [{ ...RESOURCES, talosVersion: 1 }, /talosVersion is a number/],
      [{ ...RESOURCES, systemInformation: [] }, /systemInformation is a list/],
      [null, /expected the resources/],
    ];
    for (const [input, message] of cases) {
      expect(() => inventoryFromTalosResources(input as never)).toThrow(message);
    }
  });

  it("rule sysctls and overlay options keep keys named after object members", () => {
    const [rule] = parseRules(
      JSON.parse(
        '[{"id":"a","summary":"s","when":{"intent":"x"},"sysctls":{"__proto__":"1"},' +
          '"overlay":{"name":"n","image":"i","options":{"__proto__":{"p":1}}}}]',
      ),
    );
    // z.record used to drop them (and gave the options copy a prototype of {p: 1}).
    expect(Object.keys(rule?.sysctls ?? {})).toEqual(["__proto__"]);
    expect(Object.keys(rule?.overlay?.options ?? {})).toEqual(["__proto__"]);
    expect(() =>
      parseRules([{ id: "a", summary: "s", when: { intent: "x" }, sysctls: { a: 1 } }]),
    ).toThrow(/rule "a": sysctls: expected a mapping of sysctl names to text/);
  });

  it("lspci input past the size limit is refused before parsing", () => {
    const huge = "x".repeat(MAX_INVENTORY_TEXT + 1);
    expect(() => parseLspci(huge)).toThrow(/lspci: input is \d+ characters, more than the limit/);
    expect(() => inventoryFromSysfs(huge)).toThrow(InventoryParseError);
    expect(() => nfdLabels(huge)).toThrow(InventoryParseError);
    expect(() => inventoryFromJson(huge)).toThrow(InventoryParseError);
  });

  it("long adversarial lspci lines take linear work (they used to backtrack quadratically)", () => {
    // Each of these made the old device-line and name patterns try every split
    // of the line; at 200,000 characters that is minutes, here milliseconds.
    const n = 200_000;
    const lines = [
      `00:00.0 ${"a ".repeat(n)}`,
      `00:00.0 x [0300]: ${" [10de:2204] (prog-if ".repeat(n / 20)}`,
      `00:00.0 x [0300]: y ${" ".repeat(n)}[10de:2204]x`,
      `01:00.0 "${" ".repeat(n)}x" "a [10de]" "b [2204]"`,
      `00:00.0 x [0300]: y [10de:2204]\n\tSubsystem: ${"Subsystem: [".repeat(n / 12)}`,
    ];
    for (const text of lines) {
      const result = typed(() => parseLspci(text));
      if (result instanceof InventoryParseError) expect(result.message.length).toBeLessThan(300);
    }
    // Many devices, each a valid -nnk record: linear in their number.
    const many = `${LSPCI_LINES.slice(0, 3).join("\n")}\n`.repeat(20_000);
    expect(parseLspci(many)).toHaveLength(20_000);
  });

  it("the lspci forms still read alike, with -- separators and config-space dumps", () => {
    const text = LSPCI_LINES.slice(0, 6).join("\n");
    expect(parseLspci(text)).toEqual([
      expect.objectContaining({
        slot: "0000:01:00.0",
        classId: "0x03",
        vendorId: "0x10de",
        productId: "0x2204",
        subsystemId: "0x147d",
        driver: "nvidia",
        className: "VGA compatible controller",
        product: "NVIDIA Corporation GA102 [GeForce RTX 3090]",
      }),
    ]);
    // Plain lspci: the class and vendor come back from their names, the device id is unknown.
    expect(parseLspci(LSPCI_LINES[13] as string)).toEqual([
      expect.objectContaining({ classId: "0x04", subclassId: "0x03", vendorId: "0x8086" }),
    ]);
    expect(parseLspci(LSPCI_LINES[13] as string)[0]?.productId).toBeUndefined();
  });
});

describe("properties: any input gives a result or a typed error", () => {
  it("lspci text in every form, cut and mixed", () => {
    fc.assert(
      fc.property(textFrom(LSPCI_LINES), (text) => {
        typed(() => parseLspci(text));
        typed(() => inventoryFromLspci(text));
      }),
      FUZZ,
    );
  });

  it("sysfs listings", () => {
    fc.assert(
      fc.property(textFrom([...SYSFS_OK.split("\n"), "/sys/bus/pci/devices/x/vendor:zz"]), (t) => {
        typed(() => inventoryFromSysfs(t));
      }),
      FUZZ,
    );
  });

  it("NFD labels as text, JSON and objects, with values of any type", () => {
    const labelKey = fc.oneof(
      fc.constantFrom(
        `${NFD}pci-0300_10de.present`,
        `${NFD}pci-0302_10de_2330.present`,
        `${NFD}cpu-model.vendor_id`,
        `${NFD}system-dmi.sys_vendor`,
        "kubernetes.io/arch",
        ...OBJECT_KEYS,
      ),
      nastyString,
    );
    const labels = fc.dictionary(labelKey, fc.oneof(fc.constantFrom("true", "amd64"), nastyValue), {
      maxKeys: 5,
    });
    const input = fc.oneof(
      labels.map((l) => JSON.stringify({ metadata: { name: "n", labels: l } })),
      labels.map((l) => JSON.stringify({ items: [{ metadata: { labels: l } }, l] })),
      labels.map((l) => JSON.stringify(l)),
      labels.map((l) =>
        Object.entries(l)
          .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
          .join("\n"),
      ),
      labels,
      nastyValue,
    );
    fc.assert(
      fc.property(input, (value) => {
        const nodes = typed(() => nfdLabels(value as string));
        if (!(nodes instanceof Map)) return;
        for (const [name, l] of nodes) typed(() => inventoryFromNfd(l, name));
      }),
      FUZZ,
    );
    fc.assert(
      fc.property(labels, (l) => {
        typed(() => inventoryFromNfd(l as Record<string, string>));
      }),
      FUZZ,
    );
  });

  it("JSON inventories: a wrong value at any field is refused naming that field", () => {
    const paths = fieldPaths(INVENTORY);
    fc.assert(
      fc.property(fc.constantFrom(...paths), nastyValue, (path, value) => {
        const input = withField(INVENTORY, path, value);
        const result = typed(() => inventoryFromJson(input));
        if (result instanceof InventoryParseError) {
          // The error names the replaced field or one inside it.
          expect(result.message).toContain(path.slice(0, 1).join("."));
        }
        typed(() => inventoryFromJson(JSON.stringify(input) ?? "null"));
      }),
      FUZZ,
    );
    fc.assert(
      fc.property(nastyValue, (value) => {
        typed(() => inventoryFromJson(value));
      }),
      FUZZ,
    );
    for (const depth of [1000, 100_000]) {
      typed(() => inventoryFromJson(deepJson(depth)));
      typed(() => inventoryFromJson(deepJson(depth, "pciDevices")));
    }
  });

  it("Talos resources: a wrong value at any field is a typed error", () => {
    const paths = fieldPaths(RESOURCES);
    fc.assert(
      fc.property(fc.constantFrom(...paths), nastyValue, (path, value) => {
        typed(() => inventoryFromTalosResources(withField(RESOURCES, path, value) as never));
      }),
      FUZZ,
    );
  });

  it("rule tables: any value, object-member keys and deep nesting", () => {
    const rule = {
      id: "gpu",
      when: { all: [{ pci: { vendorId: "0x10de", name: "RTX" } }, { not: { cpu: "arm" } }] },
      extensions: ["siderolabs/nvidia-open-gpu-kernel-modules"],
    };
    const paths = fieldPaths({ rules: [rule] });
    fc.assert(
      fc.property(fc.constantFrom(...paths), nastyValue, (path, value) => {
        const result = typedOrValid(
          () => parseRules(withField({ rules: [rule] }, path, value)),
          RuleError,
        );
        if (result instanceof RuleError) expect(result.message).toMatch(/^rule|^rules/);
      }),
      FUZZ,
    );
    fc.assert(
      fc.property(nastyValue, (value) => {
        typedOrValid(() => parseRules(value), RuleError);
      }),
      FUZZ,
    );
    let deep: unknown = { cpu: "intel" };
    for (let i = 0; i < 20_000; i++) deep = { not: deep };
    typedOrValid(() => parseRules([{ id: "deep", when: deep, extensions: [] }]), RuleError);
  });
});
