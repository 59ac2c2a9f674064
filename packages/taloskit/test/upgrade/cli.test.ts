// `taloskit upgrade plan|run` against the simulated cluster and factory over real sockets.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { progressPrinter, upgradeCommand } from "../../src/cli/commands/upgrade.js";
import { parseDuration } from "../../src/cli/globals.js";
import { eventJson, UpgradeError } from "../../src/upgrade/index.js";
import { runCli, runProgram, type TalosconfigFiles, talosconfigFiles } from "../helpers/cli.js";
import { type Env, mutatingCalls, SCHEMATIC_A, SCHEMATIC_B, startEnv } from "./helpers.js";

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
/** The installer of SCHEMATIC_A at v1.14.0 from `e`'s factory. */
const installer = (e: Env = env) =>
  `${new URL(e.factory.url).host}/metal-installer/${SCHEMATIC_A}:v1.14.0`;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe("taloskit upgrade", () => {
  it("plan prints each node's path, installers, order and gates, and exits 2 for changes", async () => {
    const t = await run(["plan", "--to", "v1.14.0", ...common()]);
    // Exit code 2: some node would change (as terraform plan -detailed-exitcode).
    expect(t.code).toBe(2);
    expect(t.stdout).toMatch(/^NODE\s+ROLE\s+FROM\s+PATH/);
    expect(t.stdout).toMatch(new RegExp(`${W1}\\s+worker\\s+v1.13.3\\s+v1.14.0\\s+lifecycle`));
    expect(t.stdout).toMatch(new RegExp(`${W2}\\s+worker\\s+v1.14.0\\s+-.*skip`));
    const order = t.stdout.slice(t.stdout.indexOf("\norder:") + 1);
    expect(order).toBe(
      [
        "order: control planes one at a time, then workers in batches of 1",
        "drain: none (needs --kubeconfig)",
        "wave v1.14.0:",
        `  gate etcd: every member healthy, quorum kept without ${CP}`,
        `  ${CP} controlplane v1.13.3 -> v1.14.0 lifecycle ${installer()}`,
        `  gate etcd: healthy again after ${CP}`,
        `  batch ${W1}:`,
        "    gate etcd: every member healthy",
        `    ${W1} worker v1.13.3 -> v1.14.0 lifecycle ${installer()}`,
        "",
      ].join("\n"),
    );
    const j = await run(["plan", "--to", "v1.14.0", ...common(), "-o", "json"]);
    expect(j.code).toBe(2);
    const plan = JSON.parse(j.stdout);
    expect(plan.target).toBe("v1.14.0");
    expect(plan.nodes.map((n: { node: string }) => n.node)).toEqual([CP, W1, W2]);
    expect(plan.nodes[0].steps[0].image).toBe(installer());
    // --json: the plan as one line of JSON, typed and timestamped.
    const nd = await run(["plan", "--to", "v1.14.0", ...common(), "--json"]);
    expect(nd.code).toBe(2);
    const lines = nd.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      type: "plan",
      time: expect.stringMatching(ISO),
      target: "v1.14.0",
      waves: [{ version: "v1.14.0", controlPlanes: [CP], workers: [W1] }],
    });
  });

  it("plan --help documents the exit codes", async () => {
    let help = "";
    const cmd = upgradeCommand({ stdout: () => {}, stderr: () => {}, env: {} });
    const plan = cmd.commands.find((c) => c.name() === "plan");
    plan?.configureOutput({ writeOut: (t) => (help += t) });
    plan?.outputHelp();
    expect(help).toMatch(
      /Exit codes: 0 when no node would change, 2 when some node would be upgraded, 1 on errors/,
    );
  });

  it("refuses an impossible target with a one-line reason", async () => {
    await expect(run(["plan", "--to", "v1.12.4", ...common()])).rejects.toThrow(
      /cannot upgrade from Talos v1.13.3 to the older v1.12.4/,
    );
  });

  it("run --dry-run prints the plan with each node's installer and touches nothing", async () => {
    const boot = env.sim.node(CP).state.bootId;
    const before = mutatingCalls(env.sim);
    const r = await run(["run", "--to", "v1.14.0", "--dry-run", ...common(), "-o", "json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).nodes).toHaveLength(3);
    const t = await run(["run", "--to", "v1.14.0", "--dry-run", "--batch", "2", ...common()]);
    expect(t.code).toBe(0);
    expect(t.stdout).toContain(
      `  ${CP} controlplane v1.13.3 -> v1.14.0 lifecycle ${installer()}\n`,
    );
    expect(t.stdout).toContain(
      "order: control planes one at a time, then workers in batches of 2\n",
    );
    expect(t.stdout).toContain(`    ${W1} worker v1.13.3 -> v1.14.0 lifecycle ${installer()}\n`);
    expect(env.sim.node(CP).state.bootId).toBe(boot);
    expect(mutatingCalls(env.sim)).toEqual(before);
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
    // Nothing left to change: plan exits 0.
    const p = await run(["plan", "--to", "v1.14.0", ...common()]);
    expect(p.code).toBe(0);
    expect(p.stdout).toContain("\nnothing to do: every node runs its target\n");
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

  it("--json events carry errors as data, never their cause, and cut long texts", () => {
    let out = "";
    const cause = new Error("token=s3cr3t");
    const error = new UpgradeError(
      "UPGRADE_INSTALL_FAILED",
      "10.5.0.3: the installer exited with code 6",
      {
        node: W1,
        step: "install",
        version: "v1.14.0",
        cause,
      },
    );
    const events = [
      { type: "node-failed", node: W1, error, at: 0 },
      { type: "install-output", node: W1, message: "x".repeat(10_000), at: 1 },
    ] as const;
    for (const e of events) out += `${JSON.stringify(eventJson(e))}\n`;
    expect(out).not.toContain("s3cr3t");
    const [failed, output] = out
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(failed).toEqual({
      type: "node-failed",
      time: "1970-01-01T00:00:00.000Z",
      node: W1,
      error: {
        code: "UPGRADE_INSTALL_FAILED",
        step: "install",
        node: W1,
        version: "v1.14.0",
        installPending: false,
        message: "10.5.0.3: the installer exited with code 6",
      },
    });
    expect(output.message).toBe(`${"x".repeat(4096)}… (10000 characters)`);
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

describe("taloskit upgrade for bots and CI: --json and --state", () => {
  const W3 = "10.5.0.5";
  const ALL = [CP, W1, W2, W3];
  let env2: Env;
  let files2: TalosconfigFiles;
  let cfg2: string;
  let state: string;
  beforeAll(async () => {
    env2 = await startEnv(
      ALL.map((address, i) => ({
        address,
        role: i === 0 ? ("controlplane" as const) : ("worker" as const),
        version: "v1.13.3",
        schematic: SCHEMATIC_A,
      })),
    );
    files2 = await talosconfigFiles(env2.sim);
    cfg2 = await files2.write("talosconfig", { nodes: ALL });
    state = join(files2.dir, "upgrade-state.json");
  });
  afterAll(async () => {
    await env2?.close();
    await files2?.remove();
  });

  const args = (...more: string[]) => [
    "--to",
    "v1.14.0",
    "--talosconfig",
    cfg2,
    "--factory",
    env2.factory.url,
    "--timeout",
    "10s",
    // The etcd snapshot flags are covered by etcd-cli.test.ts.
    "--no-etcd-snapshot",
    ...more,
  ];
  /** `taloskit upgrade <args>` as the binary runs it; what it throws comes back as `error`. */
  const upgrade = (...a: string[]) =>
    runProgram(upgradeCommand, ["upgrade", ...a], { env: {}, isTTY: false });
  const lines = (stdout: string) =>
    stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; time: string; [k: string]: unknown });
  const stateFile = () => JSON.parse(readFileSync(state, "utf8"));

  it("--json prints each event as a line of JSON, then the summary; a failed pull stops the run at node 2 and the state file says where", async () => {
    env2.sim.faults.failPull(W1, "manifest unknown");
    const before = mutatingCalls(env2.sim);
    const r = await upgrade("run", ...args("--json", "--state", state));
    expect(r.code).toBe(1);
    // Human progress is not printed with --json: only the one-line reason on stderr.
    expect(r.stderr).toMatch(
      /^taloskit: 10\.5\.0\.3: pulling \S+ failed: [^\n]*manifest unknown\n$/,
    );
    const out = lines(r.stdout);
    for (const l of out) expect(l.time).toMatch(ISO);
    // The sequence of a run, node by node (progress, installer output and machine status left aside).
    const trail = out
      .filter(
        (l) => !["pull-progress", "install-output", "machine-status", "reconnect"].includes(l.type),
      )
      .map((l) => [l.type, l.node ?? l.step ?? ""].join(" ").trim());
    expect(trail).toEqual([
      "run-start",
      "wave-start",
      `gate ${CP}`,
      `node-start ${CP}`,
      `step ${CP}`,
      `pull-done ${CP}`,
      `step ${CP}`,
      // A single member has no one to hand etcd leadership to: a warning, the upgrade goes on.
      `etcd-leadership ${CP}`,
      `step ${CP}`,
      `step ${CP}`,
      `step ${CP}`,
      `node-done ${CP}`,
      `gate ${CP}`,
      "batch-start",
      `gate ${W1}`,
      `node-start ${W1}`,
      `step ${W1}`,
      `node-failed ${W1}`,
      "run-done",
      "summary",
    ]);
    expect(out.filter((l) => l.type === "step" && l.node === CP).map((l) => l.step)).toEqual([
      "pull",
      "install",
      "reboot",
      "wait",
      "verify",
    ]);
    expect(out.find((l) => l.type === "node-start")).toMatchObject({
      node: CP,
      from: "v1.13.3",
      to: "v1.14.0",
      image: installer(env2),
      method: "lifecycle",
    });
    // Errors as {code, step, node, message}, nothing more (no cause, no stack).
    const failed = out.find((l) => l.type === "node-failed");
    expect(failed?.error).toEqual({
      code: "UPGRADE_PULL_FAILED",
      step: "pull",
      node: W1,
      version: "v1.14.0",
      installPending: false,
      message: expect.stringMatching(/^10\.5\.0\.3: pulling \S+ failed: .*manifest unknown$/),
    });
    expect(out.at(-2)).toMatchObject({ type: "run-done", ok: false, upgraded: 1 });
    const summary = out.at(-1) as unknown as { ok: boolean; nodes: { status: string }[] };
    expect(summary.ok).toBe(false);
    expect(summary.nodes.map((n) => n.status)).toEqual([
      "upgraded",
      "failed",
      "not-started",
      "not-started",
    ]);
    // Only the control plane and the failed worker's pull were touched.
    const after = mutatingCalls(env2.sim);
    expect(after.get(W2)).toBe(before.get(W2));
    expect(after.get(W3)).toBe(before.get(W3));
    expect(stateFile()).toMatchObject({
      status: "failed",
      failure: { node: W1, step: "pull", code: "UPGRADE_PULL_FAILED" },
      nodes: [
        { node: CP, status: "done", installed: ["v1.14.0"] },
        { node: W1, status: "failed", installed: [] },
        { node: W2, status: "pending" },
        { node: W3, status: "pending" },
      ],
    });
  });

  it("a state file of another plan is refused and nothing is touched; a dry run checks it", async () => {
    const before = mutatingCalls(env2.sim);
    const recorded = readFileSync(state, "utf8");
    for (const dry of [[], ["--dry-run"]]) {
      const r = await upgrade(
        "run",
        ...args("--schematic", SCHEMATIC_B, "--state", state, "--json", ...dry),
      );
      expect(r.error).toMatchObject({ code: "UPGRADE_STATE_MISMATCH" });
      expect(r.error?.message).toMatch(
        new RegExp(
          `${state} records another upgrade: ${CP} installs \\S+/${SCHEMATIC_B}:v1.14.0 in this plan`,
        ),
      );
      // With --json the failure is the last line, as data.
      expect(lines(r.stdout).at(-1)).toMatchObject({
        type: "error",
        error: { code: "UPGRADE_STATE_MISMATCH", step: "state", node: CP },
      });
    }
    expect(mutatingCalls(env2.sim)).toEqual(before);
    expect(readFileSync(state, "utf8")).toBe(recorded);
  });

  it("a garbage or truncated state file is a typed error naming it, and nothing is touched", async () => {
    const before = mutatingCalls(env2.sim);
    const recorded = readFileSync(state, "utf8");
    for (const [name, text] of [
      ["garbage.json", "garbage"],
      ["truncated.json", recorded.slice(0, 200)],
    ] as const) {
      const path = join(files2.dir, name);
      writeFileSync(path, text);
      const r = await upgrade("run", ...args("--state", path));
      expect(r.error).toMatchObject({ name: "UpgradeError", code: "UPGRADE_STATE_INVALID" });
      expect(r.error?.message).toMatch(
        new RegExp(`^${path} is not a usable taloskit upgrade state: not valid JSON`),
      );
      expect(readFileSync(path, "utf8")).toBe(text);
    }
    expect(mutatingCalls(env2.sim)).toEqual(before);
  });

  it("run again with the same --state resumes at the failed node, leaves the done ones alone and marks the file done", async () => {
    env2.sim.faults.failPull(W1, null);
    const before = mutatingCalls(env2.sim);
    // Planned afresh: the control plane is now at the target, so its step is gone; the file still matches.
    const dry = await upgrade("run", ...args("--dry-run", "--state", state));
    expect(dry.stderr).toContain(`would resume ${state} (failed)\n`);
    const r = await upgrade("run", ...args("--state", state));
    expect(r.error).toBeUndefined();
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      `resuming ${state}: 1 node(s) done, stopped at ${W1} (UPGRADE_PULL_FAILED at pull)\n`,
    );
    const after = mutatingCalls(env2.sim);
    expect(after.get(CP)).toBe(before.get(CP));
    for (const w of [W1, W2, W3]) expect(after.get(w)).toBeGreaterThan(before.get(w) as number);
    for (const a of ALL) expect(env2.sim.node(a).state.version).toBe("v1.14.0");
    const s = stateFile();
    expect(s.status).toBe("done");
    expect(s.failure).toBeUndefined();
    expect(s.nodes.map((n: { status: string }) => n.status)).toEqual([
      "done",
      "done",
      "done",
      "done",
    ]);
  });
});
