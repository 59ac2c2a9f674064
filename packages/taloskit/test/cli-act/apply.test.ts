// apply-config -f FILE and patch machineconfig through the taloskit binary's
// entry, global flags first, against the simulated cluster.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ClusterSimulator } from "@taloskit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CliCluster,
  parseJsonStream,
  runTaloskitMain,
  startCliCluster,
} from "../helpers/cli.js";

let cluster: CliCluster;
let sim: ClusterSimulator;
let cfg: string;
let dir: string;

beforeAll(async () => {
  cluster = await startCliCluster(
    {
      nodes: [
        { address: "10.5.0.2", role: "controlplane" },
        { address: "10.5.0.3", role: "worker" },
        { address: "10.5.0.9", maintenance: true },
      ],
    },
    { roles: ["os:admin"] },
  );
  ({ sim, cfg } = cluster);
  dir = cluster.files.dir;
});
afterAll(async () => {
  await cluster?.close();
});

const tk = (...args: string[]) =>
  runTaloskitMain(["--talosconfig", cfg, ...args], {
    env: { INIT_CWD: dir, npm_lifecycle_event: "taloskit" },
  });

describe("taloskit apply-config", () => {
  it("sends the whole config; the node runs it", async () => {
    const node = sim.node("10.5.0.3");
    const next = node.state.config.replace("talos-10-5-0-3", "worker-renamed");
    await writeFile(join(dir, "worker.yaml"), next);
    const r = await tk(
      "-n",
      "10.5.0.3",
      "apply-config",
      "-f",
      "worker.yaml",
      "--mode",
      "no-reboot",
    );
    expect(r).toEqual({ stdout: "Applied configuration without a reboot\n", stderr: "", code: 0 });
    expect(node.state.config).toBe(next);
  });

  it("-p patches the file before it is sent; a missing patch file is named by absolute path", async () => {
    const node = sim.node("10.5.0.3");
    await writeFile(join(dir, "base.yaml"), node.state.config);
    await writeFile(join(dir, "extra.yaml"), "machine:\n  certSANs:\n    - from-patch.test\n");
    const r = await tk("-n", "10.5.0.3", "apply-config", "-f", "base.yaml", "-p", "@extra.yaml");
    expect(r.code).toBe(0);
    expect(node.state.config).toContain("from-patch.test");
    const calls = node.calls("machine.MachineService/ApplyConfiguration");
    const missing = await tk(
      "-n",
      "10.5.0.3",
      "apply-config",
      "-f",
      "base.yaml",
      "-p",
      "@gone.yaml",
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`taloskit: cannot read patch file ${join(dir, "gone.yaml")}\n`);
    expect(node.calls("machine.MachineService/ApplyConfiguration")).toBe(calls);
  });

  it("--dry-run changes nothing and redacts the secrets of both configs", async () => {
    const node = sim.node("10.5.0.2");
    const before = node.state.config;
    const next = before
      .replace("simulated.token0000000000", "changed.token111111111111")
      .replace("talos-10-5-0-2", "cp-renamed");
    await writeFile(join(dir, "cp.yaml"), next);
    const r = await tk(
      "-n",
      "10.5.0.2",
      "-o",
      "json",
      "apply-config",
      "-f",
      "cp.yaml",
      "--dry-run",
    );
    expect(r.code).toBe(0);
    const [row] = parseJsonStream(r.stdout) as { modeDetails: string; dryRun: boolean }[];
    expect(row?.dryRun).toBe(true);
    expect(row?.modeDetails).toContain("Dry run summary");
    expect(row?.modeDetails).toContain("cp-renamed");
    expect(r.stdout).not.toContain("simulated.token");
    expect(r.stdout).not.toContain("changed.token");
    expect(node.state.config).toBe(before);
  });

  it("configures a node in maintenance mode with --insecure", async () => {
    const m = sim.node("10.5.0.9");
    const config = sim.node("10.5.0.3").state.config.replace("worker-renamed", "joined");
    await writeFile(join(dir, "join.yaml"), config);
    const r = await tk(
      "--insecure",
      "-n",
      m.endpoint,
      "--cert-fingerprint",
      m.maintenanceFingerprint ?? "",
      "apply-config",
      "-f",
      "join.yaml",
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(m.state.config).toBe(config);
  });

  it("a missing or broken file: one line with its absolute path, nothing sent", async () => {
    const calls = sim.node("10.5.0.3").calls("machine.MachineService/ApplyConfiguration");
    const missing = await tk("-n", "10.5.0.3", "apply-config", "-f", "nope.yaml");
    expect(missing).toEqual({
      stdout: "",
      stderr: `taloskit: cannot read ${join(dir, "nope.yaml")}: ENOENT\n`,
      code: 1,
    });
    await writeFile(join(dir, "broken.yaml"), "machine: [\n");
    const broken = await tk("-n", "10.5.0.3", "apply-config", "-f", "broken.yaml");
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(
      new RegExp(
        `^taloskit: ${join(dir, "broken.yaml").replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} is not a machine config: .*\n$`,
      ),
    );
    expect(sim.node("10.5.0.3").calls("machine.MachineService/ApplyConfiguration")).toBe(calls);
  });
});

describe("taloskit patch machineconfig", () => {
  it("merges a patch file into the node's config and applies it", async () => {
    await writeFile(join(dir, "sans.yaml"), "machine:\n  certSANs:\n    - api.example.test\n");
    const r = await tk(
      "-n",
      "10.5.0.3",
      "patch",
      "machineconfig",
      "--patch",
      `@${join(dir, "sans.yaml")}`,
      "--mode",
      "no-reboot",
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(sim.node("10.5.0.3").state.config).toContain("api.example.test");
  });

  it("mc --dry-run with an inline patch changes nothing", async () => {
    const node = sim.node("10.5.0.2");
    const before = node.state.config;
    const r = await tk(
      "-n",
      "10.5.0.2",
      "patch",
      "mc",
      "-p",
      '{"machine":{"certSANs":["x.test"]}}',
      "--dry-run",
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("x.test");
    expect(node.state.config).toBe(before);
  });
});
