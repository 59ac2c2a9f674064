import { describe, expect, it } from "vitest";
import { parseOutputFormat, render, renderTable } from "../src/cli/output.js";
import { parseJsonStream, parseYamlStream } from "./helpers/cli.js";

describe("CLI output", () => {
  const rows = [
    { node: "10.5.0.2", tag: "v1.14.0", size: 12n },
    { node: "10.5.0.10", tag: "v1.13.9", size: 2n ** 60n },
  ];
  const columns = [
    { header: "NODE", value: (r: (typeof rows)[number]) => r.node },
    { header: "TAG", value: (r: (typeof rows)[number]) => r.tag },
  ];

  it("aligns table columns and trims trailing space", () => {
    expect(renderTable(rows, columns)).toBe(
      "NODE        TAG\n10.5.0.2    v1.14.0\n10.5.0.10   v1.13.9\n",
    );
  });

  it("prints json with bigints as numbers when safe and strings when not", () => {
    expect(parseJsonStream(render("json", rows))).toEqual([
      { node: "10.5.0.2", tag: "v1.14.0", size: 12 },
      { node: "10.5.0.10", tag: "v1.13.9", size: "1152921504606846976" },
    ]);
  });

  it("prints a list as a stream of json objects, as talosctl does: 4-space indent, sorted keys", () => {
    expect(render("json", [{ node: "a", spec: { b: [1], a: "<x>" } }, { node: "b" }])).toBe(
      [
        "{",
        '    "node": "a",',
        '    "spec": {',
        '        "a": "\\u003cx\\u003e",',
        '        "b": [',
        "            1",
        "        ]",
        "    }",
        "}",
        "{",
        '    "node": "b"',
        "}",
        "",
      ].join("\n"),
    );
    expect(render("json", [])).toBe("");
  });

  it("prints a list as ---separated yaml documents, one per item", () => {
    const out = render("yaml", [
      { node: "10.5.0.2", metadata: { id: "a" } },
      { node: "10.5.0.3", metadata: { id: "b" } },
    ]);
    expect(out).toBe(
      "node: 10.5.0.2\nmetadata:\n    id: a\n---\nnode: 10.5.0.3\nmetadata:\n    id: b\n",
    );
    expect(parseYamlStream(out)).toHaveLength(2);
    expect(render("yaml", { one: 1 })).toBe("one: 1\n");
  });

  it("prints yaml as Go's encoder does", () => {
    expect(render("yaml", { nodes: ["a"], bytes: new Uint8Array([1, 2]), none: undefined })).toBe(
      "nodes:\n    - a\nbytes: AQI=\n",
    );
    const created = new Date("2025-01-02T03:04:05.120Z");
    expect(render("yaml", { created, whole: new Date("2025-01-02T03:04:05Z") })).toBe(
      "created: 2025-01-02T03:04:05.12Z\nwhole: 2025-01-02T03:04:05Z\n",
    );
    expect(JSON.parse(render("json", { created }))).toEqual({ created: "2025-01-02T03:04:05.12Z" });
  });

  it("quotes strings that YAML 1.1 or 1.2 would read as another type", () => {
    const spec = {
      id: "0000:17:00.0",
      time: "1:20",
      yes: "yes",
      on: "on",
      n: "N",
      exp: "1e3",
      hex: "0x1F",
      octal: "012",
      tilde: "~",
      null: "null",
      empty: "",
      bool: "true",
      float: "1.20",
      date: "2024-01-02",
      merge: "<<",
      plain: "Intel Corporation",
      pci: "8086:1521",
    };
    const out = render("yaml", [{ node: "10.5.0.2", spec }]);
    expect(out).toContain("    id: '0000:17:00.0'\n");
    expect(out).toContain("    time: '1:20'\n");
    expect(out).toContain("    'yes': 'yes'\n");
    expect(out).toContain('    hex: "0x1F"\n');
    expect(out).toContain('    exp: "1e3"\n');
    expect(out).toContain('    octal: "012"\n');
    expect(out).toContain('    tilde: "~"\n');
    expect(out).toContain('    date: "2024-01-02"\n');
    expect(out).toContain("    plain: Intel Corporation\n");
    expect(out).toContain("    pci: 8086:1521\n");
    // Read back as strings by a YAML 1.1 reader (sexagesimal numbers, yes/on booleans).
    expect(parseYamlStream(out)).toEqual([{ node: "10.5.0.2", spec }]);
  });

  it("rejects an unknown format by name", () => {
    expect(() => parseOutputFormat("xml")).toThrow(
      'unknown output format "xml": use one of table, json, yaml',
    );
  });
});
