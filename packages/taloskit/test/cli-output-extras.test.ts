// -o jsonpath, colours only on a terminal without NO_COLOR, and the progress bar.
import { describe, expect, it } from "vitest";
import { coloursFor, setColours } from "../src/cli/colour.js";
import { FlagError } from "../src/cli/errors.js";
import { reportFailure } from "../src/cli/globals.js";
import { JsonPathError, parseJsonPath } from "../src/cli/jsonpath.js";
import { parseOutputFormat, render, renderTable } from "../src/cli/output.js";
import { progressBar } from "../src/cli/progress.js";
import { runTaloskitMain } from "./helpers/cli.js";

const doc = {
  node: "10.5.0.2",
  metadata: { id: "0000:00:02.0", labels: { a: "x", b: "y" } },
  spec: {
    vendor: "Intel",
    devices: [{ name: "gpu", ids: [1, 2] }, { name: "nic" }],
    nested: { name: "deep" },
  },
};

describe("jsonpath", () => {
  const ev = (expr: string, value: unknown = doc) => parseJsonPath(expr).evaluate(value);

  it.each([
    ["{.spec.vendor}", "Intel"],
    [".spec.vendor", "Intel"],
    ["{$.node}", "10.5.0.2"],
    ["{.spec.devices[0].name}", "gpu"],
    ["{.spec.devices[-1].name}", "nic"],
    ["{.spec.devices[*].name}", "gpu nic"],
    ["{.metadata.labels.*}", "x y"],
    ["{.metadata['id']}", "0000:00:02.0"],
    ['{.metadata["labels"].b}', "y"],
    ["{..name}", "gpu nic deep"],
    ["{.spec.devices[0].ids}", "[1,2]"],
    ["{.spec.nested}", '{"name":"deep"}'],
    ["{.spec.missing}", ""],
    ["{.spec.devices[9]}", ""],
    ["node {.node}: {.spec.vendor}", "node 10.5.0.2: Intel"],
    ["{.}", JSON.stringify(doc)],
  ])("%s gives %j", (expr, out) => {
    expect(ev(expr)).toBe(out);
  });

  it.each([
    ["", /empty expression/],
    ["{.spec", /'\{' is not closed/],
    ["{.spec}}", /'\}' without '\{'/],
    ["{.spec[x]}", /expected \[n\], \[\*\] or \['name'\] at position 6/],
    ["{.spec..}", /expected a field name/],
    ["{range .items}", /'range' is not supported/],
    ["{.a b}", /unexpected " "/],
  ])("rejects %j with a JsonPathError", (expr, message) => {
    expect(() => parseJsonPath(expr)).toThrow(JsonPathError);
    expect(() => parseJsonPath(expr)).toThrow(message);
    try {
      parseJsonPath(expr);
    } catch (error) {
      expect(error).toBeInstanceOf(FlagError);
      expect((error as FlagError).code).toBe("INVALID_ARGUMENT");
    }
  });

  it("is an output format: one line per document, over the JSON form", () => {
    expect(parseOutputFormat("jsonpath={.node}")).toBe("jsonpath={.node}");
    expect(() => parseOutputFormat("jsonpath={.node")).toThrow(JsonPathError);
    const docs = [doc, { ...doc, node: "10.5.0.3", when: new Date(0), n: 5n }];
    expect(render("jsonpath={.node}", docs)).toBe("10.5.0.2\n10.5.0.3\n");
    expect(render("jsonpath={.when} {.n}", docs[1])).toBe("1970-01-01T00:00:00Z 5\n");
  });

  it("is taken by every command's -o, and a bad one fails before anything runs", async () => {
    const r = await runTaloskitMain(["schematic", "id", "-o", "jsonpath={.id", "x.yaml"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^taloskit: output format jsonpath=.*'\{' is not closed/);
  });
});

describe("colours", () => {
  it("only on a terminal, and never with NO_COLOR or TERM=dumb", () => {
    const tty = { stdout: true, stderr: false };
    expect(coloursFor(tty, {})).toEqual({ stdout: true, stderr: false });
    expect(coloursFor(tty, { NO_COLOR: "1" })).toEqual({ stdout: false, stderr: false });
    expect(coloursFor(tty, { NO_COLOR: "" })).toEqual({ stdout: true, stderr: false });
    expect(coloursFor(tty, { TERM: "dumb" })).toEqual({ stdout: false, stderr: false });
  });

  it("bold table headers and a red error prefix when on; plain text otherwise", () => {
    const columns = [{ header: "NODE", value: (r: { n: string }) => r.n }];
    const before = setColours({ stdout: true, stderr: true });
    try {
      expect(renderTable([{ n: "a" }], columns)).toBe("\x1b[1mNODE\x1b[22m\na\n");
      let err = "";
      const exitCode = process.exitCode;
      reportFailure(new Error("boom"), { stderr: (t) => (err += t) });
      process.exitCode = exitCode;
      expect(err).toBe("\x1b[31mtaloskit:\x1b[39m boom\n");
    } finally {
      setColours(before);
    }
    expect(renderTable([{ n: "a" }], columns)).toBe("NODE\na\n");
  });

  it("are off when a run writes to its own streams", async () => {
    const r = await runTaloskitMain(["schematic", "id", "nope.yaml"]);
    expect(r.stderr).toMatch(/^taloskit: cannot read /);
  });
});

describe("progressBar", () => {
  const capture = (isTTY: boolean) => {
    let out = "";
    return { io: { stderr: (t: string) => (out += t), isTTY }, out: () => out };
  };

  it("redraws in place on a terminal, only when the text changes", () => {
    const c = capture(true);
    const bar = progressBar(c.io, "iso ");
    bar.update(0, 1048576);
    bar.update(0, 1048576);
    bar.update(1048576, 1048576);
    bar.line("a milestone");
    bar.finish("done");
    expect(c.out()).toBe(
      `\r\x1b[Kiso [${" ".repeat(30)}]   0% 0.0/1.0 MiB` +
        `\r\x1b[Kiso [${"=".repeat(29)}>] 100% 1.0/1.0 MiB` +
        "\r\x1b[Ka milestone\ndone\n",
    );
  });

  it("prints only milestones and the last line elsewhere", () => {
    const c = capture(false);
    const bar = progressBar(c.io);
    bar.update(5, 10);
    bar.line("pulled");
    bar.update(10, 10);
    bar.finish("done");
    expect(c.out()).toBe("pulled\ndone\n");
  });
});
