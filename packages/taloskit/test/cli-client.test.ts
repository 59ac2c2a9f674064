// taloskit version / get / sim against the simulated cluster over real TLS.
import type { ClusterSimulator } from "@taloskit/testing";
import type { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getCommand, type PrintedResource } from "../src/cli/commands/get.js";
import { parseSimNodes } from "../src/cli/commands/sim.js";
import { versionCommand } from "../src/cli/commands/version.js";
import type { CommandIO } from "../src/cli/globals.js";
import {
  type CliCluster,
  parseJsonStream,
  parseYamlStream,
  runCli,
  startCliCluster,
} from "./helpers/cli.js";

let cluster: CliCluster;
let sim: ClusterSimulator;
let cfg: string;

beforeAll(async () => {
  cluster = await startCliCluster(
    {
      nodes: [
        {
          address: "10.5.0.2",
          role: "controlplane",
          version: "v1.14.0",
          profile: "nvidia-hgx-server",
        },
        { address: "10.5.0.3", role: "worker", version: "v1.13.9", profile: "intel-nuc" },
        { address: "10.5.0.9", maintenance: true, profile: "proxmox-vm" },
      ],
    },
    { roles: ["os:reader"], nodes: ["10.5.0.2"] },
  );
  ({ sim, cfg } = cluster);
});
afterAll(async () => {
  await cluster?.close();
});

const run = (make: (io?: CommandIO) => Command, args: string[]) => runCli(make, args, { env: {} });

describe("taloskit version", () => {
  it("prints each node's version as json", async () => {
    const r = await run(versionCommand, [
      "--talosconfig",
      cfg,
      "-n",
      "10.5.0.2,10.5.0.3",
      "-o",
      "json",
    ]);
    expect(r.code).toBe(0);
    const out = parseJsonStream(r.stdout) as Record<string, unknown>[];
    expect(out).toHaveLength(2);
    expect(out[0]).toMatchObject({ node: "10.5.0.2", version: { tag: "v1.14.0" } });
    expect(out[1]).toMatchObject({ node: "10.5.0.3", version: { tag: "v1.13.9" } });
  });

  it("prints a table by default and fails with a reason on a bad context", async () => {
    const r = await run(versionCommand, ["--talosconfig", cfg]);
    expect(r.stdout).toMatch(/^NODE\s+TAG/);
    expect(r.stdout).toContain("v1.14.0");
    await expect(run(versionCommand, ["--talosconfig", cfg, "--context", "nope"])).rejects.toThrow(
      /context "nope" not found/,
    );
  });

  it("talks to a maintenance node with --insecure and a fingerprint", async () => {
    const m = sim.node("10.5.0.9");
    const r = await run(versionCommand, [
      "--insecure",
      "-n",
      m.endpoint,
      "--cert-fingerprint",
      m.maintenanceFingerprint ?? "",
      "-o",
      "json",
    ]);
    expect(r.stderr).toBe("");
    expect(parseJsonStream(r.stdout)).toMatchObject([{ node: m.endpoint }]);
  });
});

describe("taloskit get", () => {
  it("prints pcidevices like talosctl: node, metadata, spec", async () => {
    const r = await run(getCommand, [
      "pcidevices",
      "--talosconfig",
      cfg,
      "-n",
      "10.5.0.2",
      "-o",
      "json",
    ]);
    expect(r.stderr).toBe("");
    const out = parseJsonStream(r.stdout) as PrintedResource[];
    expect(out.length).toBeGreaterThan(1);
    expect(r.stdout).toMatch(/^\{\n {4}"metadata": \{\n/);
    const first = out[0] as PrintedResource & { spec: Record<string, unknown> };
    expect(first.node).toBe("10.5.0.2");
    expect(first.metadata).toMatchObject({
      namespace: "hardware",
      type: "PCIDevices.hardware.talos.dev",
    });
    expect(typeof first.metadata.version).toBe("number");
    expect(first.spec).toHaveProperty("vendor_id");
  });

  it("prints -o yaml as talosctl does: one document per resource, PCI IDs quoted", async () => {
    const args = ["pcidevices", "--talosconfig", cfg, "-n", "10.5.0.2"];
    const json = parseJsonStream((await run(getCommand, [...args, "-o", "json"])).stdout);
    const r = await run(getCommand, [...args, "-o", "yaml"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.startsWith("node: 10.5.0.2\nmetadata:\n    namespace: hardware\n")).toBe(true);
    const docs = parseYamlStream(r.stdout) as PrintedResource[];
    expect(r.stdout.split("\n---\n")).toHaveLength(docs.length);
    // A YAML 1.1 reader gets the IDs back as the strings they are (0000:17:00.0 unquoted is a number).
    const ids = (json as PrintedResource[]).map((d) => d.metadata.id);
    expect(ids.some((id) => /^[0-9]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-9]$/.test(id))).toBe(true);
    expect(docs.map((d) => d.metadata.id)).toEqual(ids);
    expect(docs.map((d) => d.spec)).toEqual((json as PrintedResource[]).map((d) => d.spec));
    // Times as talosctl prints them: RFC 3339 to the second, unquoted; no empty labels.
    expect(r.stdout).toMatch(/\n {4}created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n/);
    expect(r.stdout).not.toContain("labels: {}");
  });

  it("reports an unknown type as an error", async () => {
    const r = await run(getCommand, ["nosuchthing", "--talosconfig", cfg, "-o", "json"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/resource type "nosuchthing" is not known/);
  });
});

describe("taloskit sim", () => {
  it("parses node specs and refuses bad ones", () => {
    expect(parseSimNodes("cp:v1.14.0:nvidia-hgx-server,worker:1.13.9,maintenance")).toEqual([
      {
        address: "10.5.0.2",
        role: "controlplane",
        version: "v1.14.0",
        profile: "nvidia-hgx-server",
      },
      { address: "10.5.0.3", role: "worker", version: "v1.13.9" },
      { address: "10.5.0.4", maintenance: true },
    ]);
    expect(() => parseSimNodes("boss")).toThrow(/not a role/);
    expect(() => parseSimNodes("cp:latest")).toThrow(/not a Talos version/);
  });
});
