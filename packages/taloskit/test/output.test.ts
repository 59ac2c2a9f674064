import { describe, expect, it } from "vitest";
import { parseOutputFormat, render, renderTable } from "../src/cli/output.js";

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
    expect(JSON.parse(render("json", rows))).toEqual([
      { node: "10.5.0.2", tag: "v1.14.0", size: 12 },
      { node: "10.5.0.10", tag: "v1.13.9", size: "1152921504606846976" },
    ]);
  });

  it("prints yaml", () => {
    expect(render("yaml", { nodes: ["a"], bytes: new Uint8Array([1, 2]) })).toBe(
      "nodes:\n  - a\nbytes: AQI=\n",
    );
  });

  it("rejects an unknown format by name", () => {
    expect(() => parseOutputFormat("xml")).toThrow(
      'unknown output format "xml": use one of table, json, yaml',
    );
  });
});
