// Validation errors name the document, the path and the rule; the generator strips
// every description and emits types, zod schemas and the kind table.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generate } from "../../../../scripts/gen-config-types.js";
import { ConfigPatchError } from "../../src/config/errors.js";
import { CONFIG_SCHEMAS, KINDS_BY_VERSION } from "../../src/config/generated/index.js";
import { assertValidConfig, validateConfig } from "../../src/config/validate.js";
import { fixture } from "./helpers.js";

describe("validateConfig", () => {
  it("accepts a valid multi-document config in every version", () => {
    for (const v of ["1.12", "1.13", "1.14"])
      expect(validateConfig(fixture("patchmixed/expected.yaml"), v).valid).toBe(true);
  });

  it("names document, path and rule", () => {
    const text =
      "version: v1alpha1\nmachine:\n  type: bogus\n  nope: 1\ncluster: null\n---\napiVersion: v1alpha1\nkind: LinkConfig\nname: eth0\nmtu: big\naddresses:\n  - address: 10.0.0.1/24\n    extra: 1\n---\napiVersion: v1alpha1\nkind: KernelModuleConfig\nname: nvidia\n";
    const r = validateConfig(text, "1.13");
    expect(r.valid).toBe(false);
    expect(r.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ document: "/v1alpha1", path: "machine.type", rule: "enum" }),
        expect.objectContaining({
          document: "/v1alpha1",
          path: "machine.nope",
          rule: "additionalProperties",
        }),
        expect.objectContaining({
          document: "v1alpha1/LinkConfig/eth0",
          path: "mtu",
          rule: "type",
        }),
        expect.objectContaining({
          document: "v1alpha1/LinkConfig/eth0",
          path: "addresses.0.extra",
          rule: "additionalProperties",
        }),
        expect.objectContaining({
          document: "v1alpha1/KernelModuleConfig/nvidia",
          path: "kind",
          rule: "unknownKind",
        }),
      ]),
    );
    expect(r.issues.some((i) => i.path.startsWith("cluster"))).toBe(false);
  });

  it("assertValidConfig throws CONFIG_INVALID with the issues", () => {
    try {
      assertValidConfig("apiVersion: v1alpha1\nkind: LinkConfig\nmtu: 1\n", "1.14");
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigPatchError);
      const e = err as ConfigPatchError;
      expect(e.code).toBe("CONFIG_INVALID");
      expect(e.issues[0]).toMatchObject({ document: "v1alpha1/LinkConfig", rule: "required" });
      expect(e.message).toContain("document 'v1alpha1/LinkConfig'");
    }
    expect(() => assertValidConfig("version: v1alpha1\n", "1.14")).not.toThrow();
  });

  it("rejects versions without a schema and bad YAML", () => {
    expect(() => validateConfig("version: v1alpha1\n", "1.11")).toThrow(/no config schema/);
    expect(() => validateConfig("a: [", "1.14")).toThrow(ConfigPatchError);
  });
});

describe("generated config types", () => {
  it("carries 37, 43 and 89 document kinds for 1.12, 1.13 and 1.14", () => {
    expect(KINDS_BY_VERSION["1.12"]).toHaveLength(37);
    expect(KINDS_BY_VERSION["1.13"]).toHaveLength(44);
    expect(KINDS_BY_VERSION["1.14"]).toHaveLength(89);
  });

  it("committed schemas hold no descriptions", () => {
    const text = JSON.stringify(CONFIG_SCHEMAS);
    expect(text).not.toMatch(/description|markdownDescription|"title"|"examples"|<p>/);
  });

  it("the generator strips non-structural keywords and emits types and zod", () => {
    const dir = mkdtempSync(join(tmpdir(), "taloskit-gen-"));
    writeFileSync(
      join(dir, "config.schema.v1.99.json"),
      JSON.stringify({
        $schema: "https://json-schema.org/draft/2020-12/schema",
        $id: "x",
        oneOf: [{ $ref: "#/$defs/net.ThingV1Alpha1" }],
        $defs: {
          "net.ThingV1Alpha1": {
            description: "secret words",
            type: "object",
            additionalProperties: false,
            required: ["apiVersion", "kind"],
            properties: {
              apiVersion: { enum: ["v1alpha1"], title: "t" },
              kind: { enum: ["Thing"] },
              description: { type: "string", markdownDescription: "more words" },
              size: { oneOf: [{ type: "integer" }, { type: "string" }] },
              labels: { type: "object", patternProperties: { ".*": { type: "string" } } },
            },
          },
        },
      }),
    );
    const files = generate(dir);
    const all = [...files.values()].join("\n");
    expect(all).not.toContain("words");
    expect(files.get("types-v1_99.ts")).toContain("description?: string;");
    expect(files.get("types-v1_99.ts")).toContain('kind: "Thing";');
    expect(files.get("zod-v1_99.ts")).toContain("z.strictObject(");
    expect(files.get("kinds.ts")).toContain('"id":"v1alpha1/Thing"');
  });
});
