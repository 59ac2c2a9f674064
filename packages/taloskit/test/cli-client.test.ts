// taloskit version / get / sim against the simulated cluster over real TLS.
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClusterSimulator, startCluster } from "../../testing/src/index.js";
import { getCommand } from "../src/cli/commands/get.js";
import { parseSimNodes } from "../src/cli/commands/sim.js";
import { versionCommand } from "../src/cli/commands/version.js";
import type { CommandIO } from "../src/cli/globals.js";

let sim: ClusterSimulator;
let cfg: string;

beforeAll(async () => {
  sim = await startCluster({
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
  });
  const dir = await mkdtemp(join(tmpdir(), "taloskit-cli-"));
  cfg = join(dir, "talosconfig");
  await writeFile(cfg, sim.talosconfig({ roles: ["os:reader"], nodes: ["10.5.0.2"] }));
});
afterAll(async () => {
  await sim?.close();
});

async function run(make: (io: CommandIO) => import("commander").Command, args: string[]) {
  let stdout = "";
  let stderr = "";
  const io: CommandIO = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {} };
  const before = process.exitCode;
  process.exitCode = undefined;
  await make(io).parseAsync(args, { from: "user" });
  const code = process.exitCode ?? 0;
  process.exitCode = before;
  return { stdout, stderr, code };
}

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
    const out = JSON.parse(r.stdout);
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
    expect(JSON.parse(r.stdout)[0].node).toBe(m.endpoint);
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
    const out = JSON.parse(r.stdout);
    expect(out.length).toBeGreaterThan(0);
    const first = out[0];
    expect(first.node).toBe("10.5.0.2");
    expect(first.metadata).toMatchObject({
      namespace: "hardware",
      type: "PCIDevices.hardware.talos.dev",
    });
    expect(typeof first.metadata.version).toBe("number");
    expect(first.spec).toHaveProperty("vendor_id");
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
