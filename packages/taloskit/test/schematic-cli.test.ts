// `taloskit schematic ...` against the factory simulator over real HTTP.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type FactoryServer, startFactoryServer } from "@taloskit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { progressLine, schematicCommand } from "../src/cli/commands/schematic.js";
import { readFileFrom, runProgram } from "./helpers/cli.js";

const FILES: Record<string, string> = {
  "ext.yaml":
    "customization:\n  systemExtensions:\n    officialExtensions: [siderolabs/drbd, siderolabs/gvisor, siderolabs/iscsi-tools]\n",
  "legacy.json":
    '{"customization":{"systemExtensions":{"officialExtensions":["siderolabs/i915-ucode"]}}}',
  "bad.yaml": "customization:\n  extraKernelArg: [x]\n",
};
const EXT_ID = "079113ce0508c2b803971ea6cce43fc95c10eff57a123699b5c76fdc773132ae";

const run = (...args: string[]) =>
  runProgram(schematicCommand, args, {
    readFile: readFileFrom(FILES),
    stdin: () => FILES["ext.yaml"] ?? "",
    isTTY: false,
  });

describe("taloskit schematic", () => {
  let server: FactoryServer;
  let dir: string;
  beforeAll(async () => {
    server = await startFactoryServer({ assetSize: 50_000 });
    dir = await mkdtemp(join(tmpdir(), "taloskit-cli-"));
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("computes IDs offline from a file or stdin", async () => {
    expect((await run("schematic", "id", "ext.yaml")).stdout).toBe(`${EXT_ID}\n`);
    expect((await run("schematic", "id")).stdout).toBe(`${EXT_ID}\n`);
    expect(JSON.parse((await run("schematic", "id", "ext.yaml", "-o", "json")).stdout)).toEqual({
      id: EXT_ID,
      issues: [],
    });
    expect((await run("schematic", "id", "ext.yaml", "--canonical")).stdout).toContain(
      "        officialExtensions:\n            - siderolabs/drbd\n",
    );
  });

  it("names what is wrong in bad input and catalog mismatches", async () => {
    expect((await run("schematic", "id", "bad.yaml")).error?.message).toContain(
      "customization.extraKernelArg: unknown field",
    );
    // by its absolute path, wherever the command ran
    expect((await run("schematic", "id", "nope.yaml")).error?.message).toBe(
      `cannot read ${resolve("nope.yaml")}`,
    );
    const legacy = await run("schematic", "id", "legacy.json", "--talos-version", "1.10.0");
    expect(legacy.stderr).toContain("use siderolabs/i915");
    expect(legacy.error?.message).toBe("schematic does not fit Talos 1.10.0");
  });

  it("creates and gets a schematic", async () => {
    expect((await run("schematic", "create", "ext.yaml", "--factory", server.url)).stdout).toBe(
      `${EXT_ID}\n`,
    );
    expect((await run("schematic", "get", EXT_ID, "--factory", server.url)).stdout).toBe(
      server.sim.schematics.get(EXT_ID),
    );
    const missing = await run("schematic", "get", "b".repeat(64), "--factory", server.url);
    expect(missing.error?.message).toContain("schematic not found");
  });

  it("lists URLs", async () => {
    const { stdout: out } = await run(
      "schematic",
      "urls",
      EXT_ID,
      "--talos-version",
      "1.9.0",
      "--factory",
      server.url,
      "-o",
      "json",
    );
    const urls = JSON.parse(out);
    expect(urls.installer).toBe(`${server.url.replace("http://", "")}/installer/${EXT_ID}:v1.9.0`);
    expect(urls.diskImage).toBe(`${server.url}/image/${EXT_ID}/v1.9.0/metal-amd64.raw.zst`);
    const table = (
      await run("schematic", "urls", EXT_ID, "--talos-version", "1.12.0", "--factory", server.url)
    ).stdout;
    expect(table.split("\n")[0]).toMatch(/^KIND\s+URL$/);
    expect(table).toContain(`metal-installer/${EXT_ID}:v1.12.0`);
  });

  it("downloads with a progress bar", async () => {
    const id = server.sim.put({});
    const out = join(dir, "kernel");
    const r = await run(
      "schematic",
      "download",
      id,
      "--talos-version",
      "1.12.0",
      "--kind",
      "kernel",
      "--out",
      out,
      "--factory",
      server.url,
    );
    expect(r.error).toBeUndefined();
    expect(r.stderr).toContain("100% 0.0/0.0 MiB");
    expect(await readFile(out)).toEqual(
      Buffer.from(server.sim.assetBytes(id, "v1.12.0", "kernel-amd64")),
    );
    const bad = await run(
      "schematic",
      "download",
      id,
      "--talos-version",
      "1.12.0",
      "--kind",
      "iso",
      "--secureboot",
      "--arch",
      "s390x",
      "--factory",
      server.url,
    );
    expect(bad.error?.message).toBe("--arch must be amd64 or arm64, not s390x");
    expect(existsSync(join(dir, "metal-s390x-secureboot.iso"))).toBe(false);
  });

  it("draws a bar", () => {
    expect(progressLine(512 * 1024, 1024 * 1024)).toBe(
      `[${"=".repeat(14)}>${" ".repeat(15)}]  50% 0.5/1.0 MiB`,
    );
    expect(progressLine(1048576, undefined)).toBe("1.0 MiB");
  });
});
