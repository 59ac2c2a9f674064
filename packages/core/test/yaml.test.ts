import { parseYaml, parseYamlDocuments, TalosError, YamlError } from "@taloskit/core";
import { describe, expect, it } from "vitest";

const SECRET = "c2VjcmV0LWtleS1tYXRlcmlhbA";

function rejection(text: string, options: Parameters<typeof parseYaml>[1] = { what: "t" }) {
  try {
    parseYaml(text, options);
  } catch (err) {
    expect(err).toBeInstanceOf(YamlError);
    expect(err).toBeInstanceOf(TalosError);
    return err as YamlError;
  }
  throw new Error("expected a YamlError");
}

const billionLaughs = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ..."bcdefghi".split("").map((c, i) => {
    const prev = "abcdefghi"[i];
    return `${c}: &${c} [${Array(9).fill(`*${prev}`).join(",")}]`;
  }),
].join("\n");

describe("parseYaml: aliases", () => {
  it("refuses an alias to an unknown or later anchor", () => {
    const e = rejection("a: *nope\n");
    expect(e.code).toBe("YAML_ALIAS");
    expect([e.line, e.column]).toEqual([1, 4]);
    expect(rejection("a: *x\nb: &x 1\n").code).toBe("YAML_ALIAS");
    expect(rejection("*x").code).toBe("YAML_ALIAS");
    expect(parseYaml("--- &x 1\n--- *x\n", { what: "t", maxDocuments: 1 })).toBe(1);
  });

  it("refuses an anchor whose value holds an alias to itself", () => {
    expect(rejection("a: &x [*x]\n").code).toBe("YAML_ALIAS");
    expect(rejection("a: &x {b: {c: *x}}\n").code).toBe("YAML_ALIAS");
  });

  it("refuses an alias bomb, and keeps ordinary aliases working", () => {
    expect(rejection(billionLaughs).message).toMatch(/excessive aliasing/);
    expect(parseYaml("x: &m {a: 1}\ny: *m\nz: [*m, *m]\n", { what: "t" })).toEqual({
      x: { a: 1 },
      y: { a: 1 },
      z: [{ a: 1 }, { a: 1 }],
    });
    // a redefined anchor is the latest one before the alias
    expect(parseYaml("a: &x 1\nb: &x 2\nc: *x\n", { what: "t" })).toEqual({ a: 1, b: 2, c: 2 });
    expect(rejection("a: &x [1, 2, 3]\nb: [*x, *x]\n", { what: "t", maxAliases: 4 }).code).toBe(
      "YAML_ALIAS",
    );
  });
});

describe("parseYaml: bounds", () => {
  it("refuses deep nesting, flow or block, before the library's stack runs out", () => {
    expect(rejection("[".repeat(5000) + "]".repeat(5000)).code).toBe("YAML_TOO_DEEP");
    expect(rejection(`${"- ".repeat(5000)}x\n`).code).toBe("YAML_TOO_DEEP");
    const block = Array.from({ length: 3000 }, (_, i) => `${" ".repeat(i)}a:`).join("\n");
    expect(rejection(block).code).toBe("YAML_TOO_DEEP");
    expect(parseYaml("[".repeat(200) + "]".repeat(200), { what: "t" })).toBeDefined();
  });

  it("refuses input over the size limit, counted in UTF-8 bytes", () => {
    expect(rejection("a: é", { what: "t", maxBytes: 4 }).code).toBe("YAML_TOO_LARGE");
    expect(parseYaml("a: e", { what: "t", maxBytes: 4 })).toEqual({ a: "e" });
  });

  it("refuses duplicate keys as the yaml library does, also among 40,000 keys", () => {
    const many = Array.from({ length: 40_000 }, (_, i) => `k${i}: v`).join("\n");
    expect(Object.keys(parseYaml(many, { what: "t" }) as object)).toHaveLength(40_000);
    const e = rejection(`${many}\nk17: again\n`);
    expect([e.code, e.line]).toEqual(["YAML_INVALID", 40_001]);
    expect(rejection("{a: 1, a: 2}").code).toBe("YAML_INVALID");
    expect(rejection("~: 1\nnull: 2\n").code).toBe("YAML_INVALID");
    // a number and a string are different keys, as in the library
    expect(parseYaml("1: a\n'1': b\n", { what: "t" })).toEqual({ 1: "b" });
    expect(parseYaml("a: 1\na: 2\n", { what: "t", uniqueKeys: false })).toEqual({ a: 2 });
  });

  it("reads only the documents asked for, and one document in parseYaml", () => {
    expect(parseYamlDocuments("a: 1\n---\nb: [\n", { what: "t", maxDocuments: 1 })).toHaveLength(1);
    expect(rejection("a: 1\n---\nb: 2\n").code).toBe("YAML_INVALID");
    expect(parseYaml("", { what: "t" })).toBeNull();
  });
});

describe("parseYaml: errors hold no input text", () => {
  it.each([
    ["bad indentation", `key: ${SECRET}\n  bad: [\n`],
    ["unclosed flow", `a: [${SECRET}\n`],
    ["bad escape", `a: "${SECRET}\\q"\n`],
    ["unknown alias", `a: *${SECRET}\n`],
    ["tab indentation", `a:\n\t${SECRET}: 1\n`],
    ["duplicate", `${SECRET}: 1\n${SECRET}: 2\n`],
  ])("%s", (_name, text) => {
    const e = rejection(text, { what: "talosconfig" });
    expect(e.message).not.toContain(SECRET);
    expect(e.message).toMatch(/^talosconfig: invalid YAML at line \d+, column \d+: /);
    expect(e.cause).toBeUndefined();
  });
});
