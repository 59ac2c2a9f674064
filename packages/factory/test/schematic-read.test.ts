// How schematic text is read and written back: cases the differential test
// against the Image Factory's own code (conformance/test/schematic.test.ts)
// found, kept here so that they run without Go. Expected texts are what the
// factory's schematic package answers for the same input.
import { describe, expect, it } from "vitest";
import {
  canonicalSchematicYaml,
  parseSchematic,
  SchematicError,
  schematicId,
  VANILLA_SCHEMATIC_ID,
} from "../src/index.js";

function rejection(text: string): SchematicError {
  try {
    parseSchematic(text);
  } catch (e) {
    expect(e).toBeInstanceOf(SchematicError);
    return e as SchematicError;
  }
  throw new Error(`accepted: ${JSON.stringify(text)}`);
}

describe("unknown fields named like built-in object members", () => {
  it.each([
    ["toString: x\n", "toString"],
    ["customization:\n  constructor: 1\n", "constructor"],
    ["__proto__: {}\n", "__proto__"],
    ["overlay: {hasOwnProperty: 1}\n", "hasOwnProperty"],
    ["customization: {meta: [{key: 1, value: a, hasOwnProperty: b}]}\n", "hasOwnProperty"],
    ['{"customization": {"systemExtensions": {"valueOf": []}}}', "valueOf"],
  ])("%j is refused, naming the key", (text, key) => {
    const e = rejection(text);
    expect(e.code).toBe("SCHEMATIC_PARSE");
    expect(e.message).toContain(`unknown field "${key}"`);
  });

  it("does not yield the empty schematic's ID", () => {
    expect(() => schematicId("toString: x\n")).toThrow(SchematicError);
  });

  it("keeps overlay options with such names, as the factory does", () => {
    const text = "overlay: {name: x, options: {__proto__: 1, toString: 2}}\n";
    expect(canonicalSchematicYaml(text)).toBe(
      'overlay:\n    image: ""\n    name: x\n    options:\n        __proto__: 1\n        toString: 2\ncustomization: {}\n',
    );
  });
});

describe("reading as the factory reads", () => {
  it("refuses text without a document", () => {
    expect(rejection("").code).toBe("SCHEMATIC_PARSE");
    expect(rejection("# only a comment\n").code).toBe("SCHEMATIC_PARSE");
    expect(schematicId("---\n")).toBe(VANILLA_SCHEMATIC_ID);
  });

  it("refuses raw control characters but takes DEL and C1 characters", () => {
    expect(rejection("owner: 'a\u0007'\n").message).toContain("U+0007");
    expect(canonicalSchematicYaml('owner: "a\u007f"\n')).toBe(
      'owner: "a\\x7F"\ncustomization: {}\n',
    );
  });

  it("drops null items of typed lists and zero-fills meta entries", () => {
    expect(
      canonicalSchematicYaml('customization: {extraKernelArgs: [a, ~, "\\n\\nb"], meta: [{}]}\n'),
    ).toBe(
      'customization:\n    extraKernelArgs:\n        - a\n        - |-\n\n\n          b\n    meta:\n        - key: 0\n          value: ""\n',
    );
  });

  it("applies merge keys, own keys first", () => {
    expect(
      canonicalSchematicYaml("customization: {<<: {bootloader: grub}, extraKernelArgs: [x]}\n"),
    ).toBe("customization:\n    extraKernelArgs:\n        - x\n    bootloader: grub\n");
    expect(
      canonicalSchematicYaml(
        "overlay: {name: x, options: {<<: [{a: 1, c: 1}, {a: 2, b: 2}], c: 3}}\n",
      ),
    ).toBe(
      'overlay:\n    image: ""\n    name: x\n    options:\n        a: 1\n        b: 2\n        c: 3\ncustomization: {}\n',
    );
  });

  it("follows aliases", () => {
    expect(canonicalSchematicYaml("overlay: {name: x, options: {a: &x [1], b: *x}}\n")).toBe(
      'overlay:\n    image: ""\n    name: x\n    options:\n        a:\n            - 1\n        b:\n            - 1\ncustomization: {}\n',
    );
  });

  it("types overlay option values and keys as the factory does", () => {
    expect(
      canonicalSchematicYaml(
        "overlay: {name: x, options: {a: 2001-12-14, b: 1e400, c: -0, d: <<, e: {1: a, b: c, true: d}}}\n",
      ),
    ).toBe(
      'overlay:\n    image: ""\n    name: x\n    options:\n        a: 2001-12-14T00:00:00Z\n        b: 1e400\n        c: -0\n        e:\n            true: d\n            1: a\n            b: c\ncustomization: {}\n',
    );
  });

  it("refuses an unquoted timestamp in a string field", () => {
    expect(rejection("overlay: {name: 2001-12-14}\n").message).toContain("timestamp");
  });

  it("reads sector sizes up to 2^64-1", () => {
    expect(
      canonicalSchematicYaml("customization: {diskImage: {sectorSize: 18446744073709551615}}\n"),
    ).toBe("customization:\n    diskImage:\n        sectorSize: 18446744073709551615\n");
  });
});

describe("writing as the factory writes", () => {
  it("escapes all of a string that starts with a byte-order mark", () => {
    expect(canonicalSchematicYaml({ owner: "\ufeffab" })).toBe(
      'owner: "\\uFEFF\\x61\\x62"\ncustomization: {}\n',
    );
  });

  it("writes multi-line option names after a question mark", () => {
    expect(
      canonicalSchematicYaml({ overlay: { name: "x", options: { "a\nb": 1 } } } as never),
    ).toBe(
      'overlay:\n    image: ""\n    name: x\n    options:\n        ? |-\n            a\n            b\n        : 1\ncustomization: {}\n',
    );
  });
});

describe("!!binary values", () => {
  it("reads standard base64 as its text, and refuses anything else with a typed error", () => {
    expect(parseSchematic("customization:\n  extraKernelArgs: [!!binary Zm9vPWJhcg==]\n")).toEqual(
      parseSchematic("customization:\n  extraKernelArgs: [foo=bar]\n"),
    );
    // Go's decoder wants standard base64 with its padding; Node 22's atob threw a
    // DOMException on the first of these and accepted the second.
    for (const bad of ["aGVsbG8=a", "aGVsbG8"]) {
      const err = rejection(`customization:\n  extraKernelArgs: [!!binary ${bad}]\n`);
      expect(err).toMatchObject({ code: "SCHEMATIC_PARSE" });
    }
  });
});
