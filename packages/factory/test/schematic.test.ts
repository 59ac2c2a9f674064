import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  canonicalSchematicYaml,
  isFactoryError,
  parseSchematic,
  SchematicError,
  schematic,
  schematicId,
  sortExtensions,
  VANILLA_SCHEMATIC_ID,
  YamlFloat,
} from "../src/index.js";

// IDs the factory itself computes for these schematics.
const VECTORS: [string, unknown, string][] = [
  ["empty", {}, VANILLA_SCHEMATIC_ID],
  [
    "one kernel arg",
    { customization: { extraKernelArgs: ["vga=791"] } },
    "eea1f9534c46d95c4715a2f13d17eacb927c13a42ef087c79b22c3bd0c49d073",
  ],
  [
    "extensions",
    {
      customization: {
        systemExtensions: {
          officialExtensions: ["siderolabs/drbd", "siderolabs/gvisor", "siderolabs/iscsi-tools"],
        },
      },
    },
    "079113ce0508c2b803971ea6cce43fc95c10eff57a123699b5c76fdc773132ae",
  ],
  [
    "kernel args and meta",
    {
      customization: {
        extraKernelArgs: ["vga=791", "net.ifnames=0"],
        meta: [{ key: 10, value: "{}" }],
      },
    },
    "c7d733c8a404203329b512d19b2f5cfa18b364e5d832fc78dd15767c1feffd4c",
  ],
  [
    "overlay, secureboot, bootloader, sector size",
    {
      overlay: {
        image: "ghcr.io/siderolabs/sbc-raspberry-pi",
        name: "rpi_generic",
        options: { data: "mydata" },
      },
      customization: {
        bootloader: "sd-boot",
        secureboot: { enrollKeys: "force", includeWellKnownCertificates: true },
        diskImage: { sectorSize: 4096 },
      },
    },
    "f0fabc39847e1df488bbab08935429ad35118c7eee08668e67c26d39b04e85a9",
  ],
  [
    "YAML 1.1 bools in overlay",
    { overlay: { image: "i", name: "n", options: { enable: "yes" } } },
    "5bb4bb4964217d3d94cd9083dc7369030f95c197725a603fe404431d96bd6702",
  ],
  [
    "meta value off",
    { customization: { meta: [{ key: 10, value: "off" }] } },
    "ea8ac3e47398bf729c9977565b54caa17ddbf921b07c7d7108010cbf4219c63b",
  ],
  [
    "kernel args on and 1.20",
    { customization: { extraKernelArgs: ["on", "1.20"] } },
    "ed2a7df88618bd3b7f06463479c625c40189664f98f19cca2aaf169caddd47fd",
  ],
  [
    "embedded config",
    {
      customization: {
        embeddedMachineConfiguration: "apiVersion: v1alpha1\nkind: HostnameConfig\nhostname: x\n",
      },
    },
    "9ac3dc5caac49e82fbbec38c43da76931796494729505840e038aea736ac46f1",
  ],
  [
    "bootloader is case-insensitive",
    "customization:\n  bootloader: SD-BOOT\n",
    "9ed5fecdacb36b5c5427b87d409f1065cfb2df69b0f71c58b868d9d466d8dab3",
  ],
  ["bootloader none is unset", "customization:\n  bootloader: none\n", VANILLA_SCHEMATIC_ID],
  [
    "grub",
    "customization:\n  bootloader: grub\n",
    "39d496b2cbdb6265d3b714514c5334bf010f1b4d31b23b9e38c80fb2f3ad7ecb",
  ],
  [
    "dual-boot",
    '{"customization":{"bootloader":"dual-boot"}}',
    "43a1a6104d8dcd6547983f4ed13abb6f5e8a1b2fdad796c69e7db6e95d122884",
  ],
  [
    "every field from YAML",
    `customization:
  diskImage: {sectorSize: 4096}
  extraKernelArgs: [console=ttyS0, net.ifnames=0]
  secureboot:
    includeWellKnownCertificates: true
    enrollKeys: force
  meta:
    - value: '{"a":1}'
      key: 12
  systemExtensions:
    officialExtensions: [siderolabs/iscsi-tools, siderolabs/drbd]
  bootloader: grub
overlay:
  options:
    configTxtAppend: dtoverlay=disable-bt
  name: rpi_generic
  image: siderolabs/sbc-raspberrypi
`,
    "95fda781b9dfb0c0dda9d34bade4de002c3f64665d3e73674a2b1768babd2ef9",
  ],
];

describe("schematicId", () => {
  it.each(VECTORS)("%s", (_name, input, id) => {
    expect(schematicId(input as never)).toBe(id);
    const yaml = canonicalSchematicYaml(input as never);
    expect(createHash("sha256").update(yaml).digest("hex")).toBe(id);
    // The canonical text reads back to the same schematic.
    expect(schematicId(yaml)).toBe(id);
  });

  it("hashes the UTF-8 bytes of the canonical text, at every SHA-256 padding boundary", () => {
    // Kernel argument lengths that move the canonical text across 64-byte blocks.
    for (let n = 0; n < 130; n++) {
      const input = {
        customization: { extraKernelArgs: [`x=${"ü✓𝄞a".repeat(n % 7)}${"b".repeat(n)}`] },
      };
      const yaml = canonicalSchematicYaml(input);
      expect(schematicId(input)).toBe(createHash("sha256").update(yaml, "utf8").digest("hex"));
    }
  });

  it("writes the canonical layout", () => {
    expect(
      canonicalSchematicYaml({
        customization: { extraKernelArgs: ["a"], meta: [{ key: 10, value: "x" }] },
      }),
    ).toBe(
      "customization:\n    extraKernelArgs:\n        - a\n    meta:\n        - key: 10\n          value: x\n",
    );
    expect(canonicalSchematicYaml({})).toBe("customization: {}\n");
    expect(canonicalSchematicYaml({ overlay: { name: "rpi_generic" } })).toBe(
      'overlay:\n    image: ""\n    name: rpi_generic\ncustomization: {}\n',
    );
  });

  it.each([
    ["plain", "console=ttyS0,115200", "console=ttyS0,115200"],
    ["reserved word", "true", '"true"'],
    ["null", "null", '"null"'],
    ["tilde", "~", '"~"'],
    ["empty", "", '""'],
    ["integer", "1", '"1"'],
    ["hex", "0x10", '"0x10"'],
    ["float", "1.5", '"1.5"'],
    ["date", "2024-01-01", '"2024-01-01"'],
    ["old bool", "yes", "'yes'"],
    ["old bool N", "N", "'N'"],
    ["base 60", "1:20", "'1:20'"],
    ["merge key", "<<", "'<<'"],
    ["colon space", "a: b", "'a: b'"],
    ["space hash", "a #b", "'a #b'"],
    ["hash without space", "a#b", "a#b"],
    ["leading dash space", "- x", "'- x'"],
    ["leading dash", "-x", "-x"],
    ["json", '{"externalIPs":["1.2.3.4"]}', `'{"externalIPs":["1.2.3.4"]}'`],
    ["leading space", " leading", "' leading'"],
    ["trailing space", "trailing ", "'trailing '"],
    ["single quote inside", "it's", "it's"],
    ["leading quote", "'q", "'''q'"],
    ["tab", "tab\there", '"tab\\there"'],
    ["control", "bell\u0007", '"bell\\a"'],
    ["emoji is escaped", "x🙂", '"x\\U0001F642"'],
    ["accents stay", "café", "café"],
    ["ip with port", "ip=1.2.3.4:5", "ip=1.2.3.4:5"],
    ["talos kernel arg", "talos.platform=metal", "talos.platform=metal"],
    ["star", "*x", "'*x'"],
    ["document marker", "---x", "'---x'"],
    ["only newline", "\n", '"\\n"'],
    ["multi-line", "a\nb", "|-\n            a\n            b"],
    ["multi-line kept newline", "a\nb\n", "|\n            a\n            b"],
    ["space before newline", "a \nb", '"a \\nb"'],
  ])("quotes %s the way the factory does", (_name, value, expected) => {
    const yaml = canonicalSchematicYaml({ customization: { meta: [{ key: 1, value }] } });
    const line = yaml.split("value: ")[1]?.trimEnd();
    expect(line).toBe(expected);
    // And it reads back as the same string.
    expect(parseSchematic(yaml).customization?.meta?.[0]?.value).toBe(value);
  });

  it("sorts overlay option keys naturally and keeps their types", () => {
    const yaml = canonicalSchematicYaml({
      overlay: {
        image: "i",
        name: "n",
        options: {
          b10: 1,
          b9: 2.5,
          a: true,
          c: null,
          d: [],
          e: {},
          f: ["x", { y: 1 }],
          g: new YamlFloat(3),
          h: 1e21,
        },
      },
    });
    expect(yaml).toBe(
      [
        "overlay:",
        "    image: i",
        "    name: 'n'",
        "    options:",
        "        a: true",
        "        b9: 2.5",
        "        b10: 1",
        "        c: null",
        "        d: []",
        "        e: {}",
        "        f:",
        "            - x",
        "            - 'y': 1",
        "        g: 3",
        "        h: 1e+21",
        "customization: {}",
        "",
      ].join("\n"),
    );
  });

  it("reads overlay option scalars with the factory's resolver", () => {
    const s = parseSchematic(
      "overlay:\n  name: n\n  image: i\n  options:\n    a: 0x10\n    b: '0x10'\n    c: yes\n    d: 1.0\n    e: 1_000\n",
    );
    expect(s.overlay?.options).toEqual({
      a: 16,
      b: "0x10",
      c: "yes",
      d: new YamlFloat(1),
      e: 1000,
    });
  });

  it("reads scalars into string fields as their text and keys in any base", () => {
    const s = parseSchematic(
      "customization:\n  extraKernelArgs: [1, true, x]\n  meta: [{key: 0xa, value: 5}]\n",
    );
    expect(s.customization?.extraKernelArgs).toEqual(["1", "true", "x"]);
    expect(s.customization?.meta).toEqual([{ key: 10, value: "5" }]);
  });
});

describe("schematic input errors", () => {
  it.each([
    [
      "unknown field",
      "customization:\n  systemExtension:\n    officialExtensions: [a]\n",
      "customization.systemExtension: unknown field",
    ],
    [
      "meta key range",
      "customization:\n  meta: [{key: 256, value: x}]\n",
      "customization.meta.0.key: 256 is out of range",
    ],
    [
      "quoted meta key",
      "customization:\n  meta: [{key: '1', value: x}]\n",
      "customization.meta.0.key: expected an integer",
    ],
    [
      "bad bootloader",
      "customization:\n  bootloader: bogus\n",
      'customization.bootloader: unknown bootloader "bogus"',
    ],
    ["auto bootloader", "customization:\n  bootloader: auto\n", "only a UI choice"],
    [
      "list expected",
      "customization:\n  extraKernelArgs: x\n",
      "customization.extraKernelArgs: expected a sequence",
    ],
    [
      "bad bool",
      "customization:\n  secureboot: {includeWellKnownCertificates: maybe}\n",
      "expected a boolean",
    ],
    ["not yaml", "customization: [\n", "not valid YAML"],
    ["duplicate key", "customization: {}\ncustomization: {}\n", "not valid YAML"],
  ])("%s", (_name, text, message) => {
    let error: unknown;
    try {
      parseSchematic(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SchematicError);
    expect(isFactoryError(error)).toBe(true);
    expect((error as Error).message).toContain(message);
  });

  it("names the field of a bad object", () => {
    expect(() =>
      schematicId({ customization: { meta: [{ key: -1, value: "x" }] } } as never),
    ).toThrow(/customization\.meta\.0\.key/);
    expect(() => schematicId({ customization: { extraKernelArgs: [1] } } as never)).toThrow(
      /customization\.extraKernelArgs\.0/,
    );
  });
});

describe("builder", () => {
  it("sorts extensions like the UI and computes the same ID", () => {
    const built = schematic().extensions("siderolabs/iscsi-tools", "drbd", "gvisor").build();
    expect(built.customization?.systemExtensions?.officialExtensions).toEqual([
      "siderolabs/drbd",
      "siderolabs/gvisor",
      "siderolabs/iscsi-tools",
    ]);
    expect(schematicId(built)).toBe(
      "079113ce0508c2b803971ea6cce43fc95c10eff57a123699b5c76fdc773132ae",
    );
    expect(
      schematic().keepExtensionOrder().extensions("b", "a").build().customization?.systemExtensions,
    ).toEqual({
      officialExtensions: ["siderolabs/b", "siderolabs/a"],
    });
  });

  it("builds every field", () => {
    const id = schematic()
      .overlay("rpi_generic", "ghcr.io/siderolabs/sbc-raspberry-pi", { data: "mydata" })
      .bootloader("sd-boot")
      .secureBoot({ enrollKeys: "force", includeWellKnownCertificates: true })
      .sectorSize(4096)
      .id();
    expect(id).toBe("f0fabc39847e1df488bbab08935429ad35118c7eee08668e67c26d39b04e85a9");
    expect(schematic().kernelArgs("vga=791", "net.ifnames=0").meta(10, "{}").id()).toBe(
      "c7d733c8a404203329b512d19b2f5cfa18b364e5d832fc78dd15767c1feffd4c",
    );
  });

  it("sorts by byte order", () => {
    expect(
      sortExtensions(["siderolabs/b", "siderolabs/B", "siderolabs/a-b", "siderolabs/a"]),
    ).toEqual(["siderolabs/B", "siderolabs/a", "siderolabs/a-b", "siderolabs/b"]);
  });
});
