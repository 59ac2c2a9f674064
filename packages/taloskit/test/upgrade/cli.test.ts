// `taloskit upgrade plan|run` against the simulated cluster and factory over real sockets.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { progressPrinter, upgradeCommand } from "../../src/cli/commands/upgrade.js";
import { parseDuration } from "../../src/cli/globals.js";
import { runCli, type TalosconfigFiles, talosconfigFiles } from "../helpers/cli.js";
import { type Env, SCHEMATIC_A, startEnv } from "./helpers.js";

let env: Env;
let files: TalosconfigFiles;
let cfg: string;
const CP = "10.5.0.2";
const W1 = "10.5.0.3";
const W2 = "10.5.0.4";

beforeAll(async () => {
  env = await startEnv([
    { address: CP, role: "controlplane", version: "v1.13.3", schematic: SCHEMATIC_A },
    { address: W1, role: "worker", version: "v1.13.3", schematic: SCHEMATIC_A },
    { address: W2, role: "worker", version: "v1.14.0", schematic: SCHEMATIC_A },
  ]);
  files = await talosconfigFiles(env.sim);
  cfg = await files.write("talosconfig", { nodes: [CP, W1, W2] });
});
afterAll(async () => {
  await env?.close();
  await files?.remove();
});

const run = (args: string[], tty = false) => runCli(upgradeCommand, args, { env: {}, isTTY: tty });

const common = () => ["--talosconfig", cfg, "--factory", env.factory.url];

describe("taloskit upgrade", () => {
  it("plan prints each node's path as a table, and as json", async () => {
    const t = await run(["plan", "--to", "v1.14.0", ...common()]);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^NODE\s+ROLE\s+FROM\s+PATH/);
    expect(t.stdout).toMatch(new RegExp(`${W1}\\s+worker\\s+v1.13.3\\s+v1.14.0\\s+lifecycle`));
    expect(t.stdout).toMatch(new RegExp(`${W2}\\s+worker\\s+v1.14.0\\s+-.*skip`));
    expect(t.stderr).toMatch(/wave v1.14.0: control planes 10.5.0.2; workers 10.5.0.3/);
    const j = await run(["plan", "--to", "v1.14.0", ...common(), "-o", "json"]);
    const plan = JSON.parse(j.stdout);
    expect(plan.target).toBe("v1.14.0");
    expect(plan.nodes.map((n: { node: string }) => n.node)).toEqual([CP, W1, W2]);
  });

  it("refuses an impossible target with a one-line reason", async () => {
    await expect(run(["plan", "--to", "v1.12.4", ...common()])).rejects.toThrow(
      /cannot upgrade from Talos v1.13.3 to the older v1.12.4/,
    );
  });

  it("run --dry-run prints the plan and touches nothing", async () => {
    const boot = env.sim.node(CP).state.bootId;
    const r = await run(["run", "--to", "v1.14.0", "--dry-run", ...common(), "-o", "json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).nodes).toHaveLength(3);
    expect(env.sim.node(CP).state.bootId).toBe(boot);
  });

  it("run upgrades with live progress on stderr and a final json summary", async () => {
    const r = await run([
      "run",
      "--to",
      "v1.14.0",
      "--batch",
      "2",
      "--timeout",
      "10s",
      // The etcd snapshot flags are covered by etcd-cli.test.ts.
      "--no-etcd-snapshot",
      ...common(),
      "-o",
      "json",
    ]);
    expect(r.stderr).not.toMatch(/FAIL/);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.ok).toBe(true);
    expect(s.nodes.map((n: { node: string; status: string }) => [n.node, n.status])).toEqual([
      [CP, "upgraded"],
      [W1, "upgraded"],
      [W2, "skipped"],
    ]);
    expect(r.stderr).toMatch(/10.5.0.2: v1.13.3 -> v1.14.0 \(lifecycle\)/);
    expect(r.stderr).toMatch(/ok\s+gate etcd: 1 control-plane node/);
    expect(r.stderr).toMatch(/10.5.0.3: done, v1.14.0/);
    // Not a terminal: no carriage-return redraws.
    expect(r.stderr).not.toContain("\r");
  });

  it("run reports a failure with exit code 1 and a table", async () => {
    env.sim.node(W1).state.version = "v1.13.3";
    env.sim.node(W1).touch();
    env.sim.faults.installerExitCode(W1, 6);
    try {
      const r = await run(["run", "--to", "v1.14.0", ...common()]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(new RegExp(`${W1}\\s+worker.*failed\\s+.*UPGRADE_INSTALL_FAILED`));
      expect(r.stderr).toMatch(/taloskit: 10.5.0.3: the installer exited with code 6/);
    } finally {
      env.sim.faults.installerExitCode(W1, 0);
    }
  });

  it("validates flags", async () => {
    await expect(run(["run", "--to", "v1.14.0", "--batch", "0", ...common()])).rejects.toThrow(
      /--batch must be a whole number/,
    );
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("15m")).toBe(900_000);
    expect(() => parseDuration("soon")).toThrow(/invalid duration/);
  });

  it("redraws pull progress in place on a terminal", () => {
    let out = "";
    const p = progressPrinter({
      stdout: () => {},
      stderr: (t) => (out += t),
      env: {},
      isTTY: true,
    });
    p({ type: "pull-progress", node: "n", layer: "sha256:1", offset: 512, total: 1024, at: 0 });
    p({ type: "step", node: "n", step: "install", version: "v1.14.0", detail: "", at: 0 });
    expect(out).toBe("\r\x1b[Kn: pulling sha256:1 50%\r\x1b[Kn: install\n");
  });

  it("prints Kubernetes node readiness and the Kubernetes gate", () => {
    let out = "";
    const p = progressPrinter({ stdout: () => {}, stderr: (t) => (out += t), env: {} });
    const base = { type: "kubernetes-node", node: "10.5.0.2", name: "cp-1", at: 0 } as const;
    p({ ...base, ready: false, kubeletVersion: "v1.34.1", detail: "NodeStatusUnknown" });
    p({ ...base, ready: true, kubeletVersion: "v1.34.1", detail: "" });
    p({ type: "gate", gate: "kubernetes", node: "10.5.0.3", ok: true, detail: "8 Ready", at: 0 });
    expect(out).toBe(
      "10.5.0.2: Kubernetes node cp-1 NotReady, kubelet v1.34.1 (NodeStatusUnknown)\n" +
        "10.5.0.2: Kubernetes node cp-1 Ready, kubelet v1.34.1\n" +
        "ok   gate kubernetes: 8 Ready\n",
    );
  });
});
