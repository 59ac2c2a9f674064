// Property tests of the schematic validation (after the text is read), the
// schematic builder and the asset URL builders: for any input, a valid result
// or a FactoryError naming the field, never a ZodError or TypeError.
import {
  assetPaths,
  assetUrls,
  canonicalSchematicYaml,
  defaultPxeUrl,
  FactoryError,
  factoryExtensionAlias,
  imageUrl,
  installerImage,
  offlineCatalog,
  parseSchematic,
  pxeUrl,
  registryHost,
  SchematicError,
  schematic,
  schematicId,
  VANILLA_SCHEMATIC_ID,
  validateSchematic,
  validateSchematicShape,
} from "@taloskit/factory";
import fc from "fast-check";
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
} from "../../../test/fuzz/fuzz.js";

const SCHEMATIC = {
  owner: "me",
  overlay: { image: "siderolabs/sbc-raspberrypi", name: "rpi_generic", options: { a: 1 } },
  customization: {
    embeddedMachineConfiguration: "machine: {}",
    extraKernelArgs: ["console=ttyS0", "net.ifnames=0"],
    meta: [{ key: 10, value: "x" }],
    systemExtensions: { officialExtensions: ["siderolabs/iscsi-tools"] },
    bootloader: "sd-boot",
    secureboot: { enrollKeys: "off", includeWellKnownCertificates: true },
    diskImage: { sectorSize: 4096 },
  },
};
const ID = "a".repeat(64);
const TARGET = { schematicId: ID, version: "v1.11.2", arch: "amd64", platform: "metal" };

describe("schematic validation refuses object-member keys by name", () => {
  it("as text (YAML and JSON) and as objects, at every level", () => {
    for (const name of OBJECT_KEYS) {
      for (const where of [[], ["customization"], ["overlay"], ["customization", "secureboot"]]) {
        const value = withField(SCHEMATIC, [...where, name], "x");
        const field = [...where, name].join(".");
        expect(() => validateSchematicShape(value)).toThrow(SchematicError);
        expect(() => validateSchematicShape(value)).toThrow(`${field}: unknown field "${name}"`);
        expect(() => schematicId(value as never)).toThrow(SchematicError);
        const json = JSON.stringify(value);
        expect(() => parseSchematic(json)).toThrow(`${field}: unknown field "${name}"`);
      }
      expect(() => parseSchematic(`${name}: x\n`)).toThrow(`${name}: unknown field "${name}"`);
    }
    // The schematic of nothing but an unknown key is not the empty schematic.
    expect(() => schematicId("toString: x\n")).toThrow(SchematicError);
    expect(schematicId("{}")).toBe(VANILLA_SCHEMATIC_ID);
  });

  it("a wrong value at any field is a SchematicError naming the field", () => {
    const paths = fieldPaths(SCHEMATIC);
    fc.assert(
      fc.property(fc.constantFrom(...paths), nastyValue, (path, value) => {
        const input = withField(SCHEMATIC, path, value);
        const top = String(path[0]);
        for (const run of <(() => unknown)[]>[
          () => validateSchematicShape(input),
          () => schematicId(input as never),
          () => canonicalSchematicYaml(JSON.stringify(input) ?? "null"),
        ]) {
          const result = typedOrValid(run, SchematicError);
          if (result instanceof SchematicError) expect(result.message).toContain(top);
        }
      }),
      FUZZ,
    );
  });

  it("any value, deep nesting and huge strings", () => {
    fc.assert(
      fc.property(nastyValue, (value) => {
        typedOrValid(() => validateSchematicShape(value), SchematicError);
        typedOrValid(() => schematicId(value as never), SchematicError);
      }),
      FUZZ,
    );
    const huge = "k".repeat(1_000_000);
    const big = { customization: { extraKernelArgs: [huge], meta: [{ key: 1, value: huge }] } };
    expect(schematicId(big)).toMatch(/^[0-9a-f]{64}$/);
    for (const depth of [100, 5000]) {
      typedOrValid(
        () => validateSchematicShape(JSON.parse(deepJson(depth, "overlay"))),
        SchematicError,
      );
      typedOrValid(() => validateSchematicShape(JSON.parse(deepJson(depth))), SchematicError);
    }
  });
});

describe("builder and catalog: extension names and kernel arguments of any kind", () => {
  it("a builder given wrong types throws a SchematicError", () => {
    fc.assert(
      fc.property(
        fc.array(nastyValue, { maxLength: 3 }),
        fc.array(nastyValue, { maxLength: 3 }),
        (exts, args) => {
          typedOrValid(
            () =>
              schematic()
                .extensions(...(exts as string[]))
                .kernelArgs(...(args as string[]))
                .id(),
            SchematicError,
          );
        },
      ),
      FUZZ,
    );
    expect(() =>
      schematic()
        .extensions(7 as never)
        .build(),
    ).toThrow(/extension names must be strings/);
  });

  it("extension names named after object members are unknown extensions, not legacy ones", () => {
    const catalog = offlineCatalog("v1.11.0");
    for (const name of OBJECT_KEYS) {
      expect(factoryExtensionAlias(name)).toBe(name);
      const s = schematic().extensions(`x/${name}`, name).build();
      const result = validateSchematic(s, catalog);
      expect(result.issues.map((i) => i.code)).toEqual(["UNKNOWN_EXTENSION", "UNKNOWN_EXTENSION"]);
    }
    fc.assert(
      fc.property(fc.array(nastyString, { maxLength: 4 }), (names) => {
        const built = typedOrValid(
          () =>
            schematic()
              .keepExtensionOrder()
              .extensions(...names)
              .build(),
          SchematicError,
        );
        if (!(built instanceof SchematicError))
          typedOrValid(() => validateSchematic(built, catalog));
      }),
      FUZZ,
    );
  });
});

describe("asset URL builders", () => {
  const builders: [string, (t: unknown, base: unknown) => unknown][] = [
    ["assetUrls", (t, b) => assetUrls(b as string, b as string, t as never)],
    ["imageUrl", (t, b) => imageUrl(b as string, t as never, "metal-amd64.iso")],
    ["installerImage", (t, b) => installerImage(b as string, t as never)],
    ["pxeUrl", (t, b) => pxeUrl(b as string, t as never)],
    ...Object.entries(assetPaths).map(
      ([kind, build]): [string, (t: unknown, base: unknown) => unknown] => [
        kind,
        (t) => (build as (t: unknown) => string)(t),
      ],
    ),
  ];

  it("a wrong value at any field of the target is an INVALID_ARGUMENT error naming it", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...builders),
        fc.constantFrom("schematicId", "version", "arch", "platform", "secureBoot"),
        fc.oneof(nastyValue, fc.constantFrom("latest", "v1.11", "../x", `${ID}/../x`, "1.11.0")),
        ([, build], field, value) => {
          const result = typedOrValid(
            () => build({ ...TARGET, [field]: value }, "https://f.example"),
            FactoryError,
          );
          if (result instanceof FactoryError) {
            expect(result.code).toBe("INVALID_ARGUMENT");
            expect(result.message.toLowerCase()).toMatch(
              new RegExp(`${field.toLowerCase()}|talos|platform`),
            );
          } else {
            expect(JSON.stringify(result)).not.toContain("..");
          }
        },
      ),
      FUZZ,
    );
  });

  it("base URLs of any kind, linear in their length", () => {
    fc.assert(
      fc.property(fc.constantFrom(...builders), nastyValue, ([, build], base) => {
        typedOrValid(() => build(TARGET, base), FactoryError);
        typedOrValid(() => registryHost(base as string), FactoryError);
        typedOrValid(() => defaultPxeUrl(base as string), FactoryError);
      }),
      FUZZ,
    );
    // A long run of "/" not at the end used to cost quadratic time in the trailing-slash pattern.
    const slashes = `https://f.example${"/".repeat(2000)}x`;
    expect(registryHost(slashes)).toBe(slashes.slice("https://".length));
    expect(() => registryHost(`https://f${"/".repeat(1_000_000)}x`)).toThrow(/baseUrl is longer/);
    expect(() =>
      imageUrl("https://f.example", { ...TARGET, schematicId: "../../x" } as never, "k"),
    ).toThrow(/schematicId "..\/..\/x" is not a 64-digit hex ID/);
    expect(defaultPxeUrl("https://factory.talos.dev//")).toBe("https://pxe.factory.talos.dev");
  });
});
