// `taloskit config apply` against the cluster simulator over real mTLS.
import { TalosClient } from "@taloskit/client";
import type { ClusterSimulator } from "@taloskit/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { configCommand } from "../../src/cli/commands/config.js";
import { parseDuration } from "../../src/cli/globals.js";
import {
  type CliCluster,
  parseJsonStream,
  readFileFrom,
  runProgram,
  startCliCluster,
} from "../helpers/cli.js";

let cluster: CliCluster;
let sim: ClusterSimulator;
let cfg: string;
let readerCfg: string;
const original = new Map<string, string>();
const FILES: Record<string, string> = {
  "sans.yaml": "machine:\n  certSANs:\n    - cli.example\n",
  "quota.yaml": "machine:\n  features:\n    diskQuotaSupport: true\n",
  "kind.yaml": "apiVersion: v1alpha1\nkind: NoSuchConfig\nname: x\n",
  "json.yaml": '[{"op": "remove", "path": "/machine/token"}]',
};

beforeAll(async () => {
  cluster = await startCliCluster(
    {
      nodes: [
        { address: "10.5.0.2", role: "controlplane", version: "v1.14.0" },
        { address: "10.5.0.3", role: "worker", version: "v1.13.2" },
      ],
    },
    { roles: ["os:admin"], nodes: ["10.5.0.2"] },
  );
  ({ sim, cfg } = cluster);
  readerCfg = await cluster.files.write("reader", { roles: ["os:reader"], nodes: ["10.5.0.2"] });
  for (const n of sim.nodes) original.set(n.address, n.state.config);
});
afterEach(() => {
  vi.restoreAllMocks();
  for (const n of sim.nodes) {
    n.state.config = original.get(n.address) as string;
    n.state.stagedConfig = undefined;
    n.touch();
  }
});
afterAll(async () => {
  await cluster?.close();
});

const run = (...args: string[]) =>
  runProgram(configCommand, ["config", "apply", ...args], {
    readFile: readFileFrom(FILES),
    exists: (p) => p in FILES,
    stdin: () => "",
    env: {},
  });

describe("taloskit config apply", () => {
  it("prints the unified diff and a per-node table, and applies", async () => {
    const r = await run("--talosconfig", cfg, "--patch", "sans.yaml", "--mode", "no-reboot");
    expect(r.error).toBeUndefined();
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^--- current\n\+\+\+ patched\n@@ /);
    expect(r.stdout).toContain("+    - cli.example");
    expect(r.stdout).toMatch(
      /NODE\s+CHANGED\s+MODE\s+REBOOT\s+DETAILS\n10\.5\.0\.2\s+yes\s+no-reboot\s+no\s+Applied configuration without a reboot/,
    );
    expect(sim.node("10.5.0.2").state.config).toContain("cli.example");
  });

  it("--dry-run -o json reports what the node would do and changes nothing", async () => {
    const r = await run(
      "--talosconfig",
      cfg,
      "-n",
      "10.5.0.3",
      "-p",
      "quota.yaml",
      "--dry-run",
      "-o",
      "json",
    );
    expect(r.code).toBe(0);
    const [row] = parseJsonStream(r.stdout) as { diff: { unified: string } }[];
    expect(row).toMatchObject({
      node: "10.5.0.3",
      changed: true,
      dryRun: true,
      mode: "reboot",
      rebootRequired: true,
      rebooting: false,
    });
    expect(row?.diff.unified).toContain("+    diskQuotaSupport: true");
    expect(row).not.toHaveProperty("config");
    expect(sim.node("10.5.0.3").state.config).toBe(original.get("10.5.0.3"));
  });

  it("a change the mode cannot apply: one line on stderr, exit 1, node untouched", async () => {
    const r = await run(
      "--talosconfig",
      cfg,
      "-n",
      "10.5.0.3",
      "-p",
      "quota.yaml",
      "-m",
      "no-reboot",
    );
    expect(r.code).toBe(1);
    const lines = r.stderr
      .trim()
      .split("\n")
      .filter((l) => !l.includes("warning:"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^taloskit: 10\.5\.0\.3: node 10\.5\.0\.3 cannot apply this change in mode "no-reboot" without a reboot.*can't be applied in immediate mode/,
    );
    expect(sim.node("10.5.0.3").state.config).toBe(original.get("10.5.0.3"));
  });

  it("bad patches fail with Talos's wording and leave the node byte-identical", async () => {
    const kind = await run("--talosconfig", cfg, "-p", "kind.yaml");
    expect(kind.code).toBe(1);
    expect(kind.stderr).toMatch(/unknown document type "NoSuchConfig"/);
    const json = await run("--talosconfig", cfg, "-p", "json.yaml");
    expect(json.stderr).toMatch(
      /JSON6902 patches are not supported for multi-document machine configuration/,
    );
    const missing = await run("--talosconfig", cfg, "-p", "nosuch.yaml");
    expect(missing.error?.message).toMatch(/patch nosuch\.yaml: no such file/);
    const yaml = await run("--talosconfig", cfg, "-p", "machine: [oops");
    expect(yaml.error?.message).toMatch(/invalid YAML/);
    expect(sim.node("10.5.0.2").state.config).toBe(original.get("10.5.0.2"));
  });

  it("a reader-role talosconfig is denied", async () => {
    const r = await run("--talosconfig", readerCfg, "-p", "sans.yaml");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^taloskit: 10\.5\.0\.2: .*denied/m);
    expect(sim.node("10.5.0.2").state.config).toBe(original.get("10.5.0.2"));
  });

  it("several nodes go through one bounded fan-out (client.onNodes, 4 at a time), one row each", async () => {
    const fanOut = vi.spyOn(TalosClient.prototype, "onNodes");
    const r = await run(
      "--talosconfig",
      cfg,
      "-n",
      "10.5.0.2,10.5.0.3",
      "-p",
      "sans.yaml",
      "-m",
      "no-reboot",
      "-o",
      "json",
    );
    expect(r.code).toBe(0);
    expect(fanOut).toHaveBeenCalledTimes(1);
    expect(fanOut.mock.calls[0]?.[0]).toEqual(["10.5.0.2", "10.5.0.3"]);
    expect(fanOut.mock.calls[0]?.[2]).toMatchObject({ concurrency: 4 });
    const rows = parseJsonStream(r.stdout) as { node: string; changed: boolean }[];
    expect(rows.map((x: { node: string }) => x.node)).toEqual(["10.5.0.2", "10.5.0.3"]);
    expect(rows.every((x: { changed: boolean }) => x.changed)).toBe(true);
    expect(sim.node("10.5.0.3").state.config).toContain("cli.example");
  });

  it("--insecure is refused before any node is contacted", async () => {
    const r = await run("--insecure", "-n", "10.5.0.2", "-p", "sans.yaml");
    expect(r.error?.message).toMatch(/maintenance mode \(--insecure\) takes a whole config/);
    expect(sim.node("10.5.0.2").state.config).toBe(original.get("10.5.0.2"));
  });

  it("--try-timeout needs --mode try, and parses Go-style durations", async () => {
    const r = await run("--talosconfig", cfg, "-p", "sans.yaml", "--try-timeout", "1m");
    expect(r.error?.message).toBe("--try-timeout needs --mode try");
    expect(parseDuration("1m30s")).toBe(90_000);
    expect(parseDuration("250ms")).toBe(250);
    expect(() => parseDuration("soon")).toThrow(/invalid duration "soon"/);
    const t = await run(
      "--talosconfig",
      cfg,
      "-p",
      "sans.yaml",
      "-m",
      "try",
      "--try-timeout",
      "2m",
      "-o",
      "json",
    );
    expect((parseJsonStream(t.stdout)[0] as { modeDetails: string }).modeDetails).toContain(
      "automatically reverted back in 2m0s",
    );
  });
});
