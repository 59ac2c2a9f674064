// The etcd snapshot through the CLI against the simulated cluster over real
// sockets: `upgrade run --etcd-snapshot PATH | --no-etcd-snapshot` (and the
// default file in the user's directory), `etcd snapshot FILE` refusing a
// damaged stream; and a single-member etcd that cannot hand leadership on.
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { etcdCommand } from "../../src/cli/commands/etcd.js";
import { upgradeCommand } from "../../src/cli/commands/upgrade.js";
import { verifyEtcdSnapshot } from "../../src/upgrade/etcd-snapshot.js";
import { planUpgrade, runUpgrade } from "../../src/upgrade/index.js";
import { runCli, runMain, type TalosconfigFiles, talosconfigFiles } from "../helpers/cli.js";
import { type Env, FAST, recorder, SCHEMATIC_A, startEnv } from "./helpers.js";

const CP = "10.5.0.2";
const W = "10.5.0.3";
const SNAPSHOTS = "machine.MachineService/EtcdSnapshot";

let env: Env;
let files: TalosconfigFiles;
let cfg: string;
let dir: string;

beforeAll(async () => {
  env = await startEnv([
    { address: CP, role: "controlplane", version: "v1.13.3", schematic: SCHEMATIC_A },
    { address: W, role: "worker", version: "v1.13.3", schematic: SCHEMATIC_A },
  ]);
  files = await talosconfigFiles(env.sim);
  cfg = await files.write("talosconfig", { nodes: [CP, W] });
  dir = await mkdtemp(join(tmpdir(), "taloskit-etcd-cli-"));
  (env.sim.node(CP).state.etcd as { dbSize: bigint }).dbSize = 200_000n;
});
afterAll(async () => {
  await env?.close();
  await files?.remove();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Both nodes back at 1.13.3. */
function reset() {
  for (const n of env.sim.nodes) {
    n.state.version = "v1.13.3";
    n.state.images.clear();
    n.state.pendingUpgrade = undefined;
    n.touch();
  }
}

// The user's directory is `dir`, as when run through `pnpm taloskit` from there.
const io = () => ({ env: { INIT_CWD: dir, npm_lifecycle_event: "taloskit" } });
const upgrade = (...args: string[]) =>
  runCli(
    upgradeCommand,
    [
      "run",
      "--to",
      "v1.14.0",
      "--talosconfig",
      cfg,
      "--factory",
      env.factory.url,
      "-o",
      "json",
      ...args,
    ],
    io(),
  );

describe("taloskit upgrade run and the etcd snapshot", () => {
  it("--etcd-snapshot PATH saves it there, relative to the user's directory", async () => {
    reset();
    const before = env.sim.node(CP).calls(SNAPSHOTS);
    const r = await upgrade("--etcd-snapshot", "before-upgrade.snapshot");
    expect(r.code).toBe(0);
    const path = join(dir, "before-upgrade.snapshot");
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, etcdSnapshot: path });
    expect(env.sim.node(CP).calls(SNAPSHOTS)).toBe(before + 1);
    expect((await verifyEtcdSnapshot(path)).dbSize).toBe(Math.ceil(200_000 / 4096) * 4096);
    await rm(path);
  });

  it("by default saves etcd-<node>-<time>.snapshot in the user's directory", async () => {
    reset();
    const r = await upgrade();
    expect(r.code).toBe(0);
    const saved = await readdir(dir);
    expect(saved).toEqual([expect.stringMatching(/^etcd-talos-10-5-0-2-\d{8}T\d{6}Z\.snapshot$/)]);
    expect(JSON.parse(r.stdout).etcdSnapshot).toBe(join(dir, saved[0] as string));
    await rm(join(dir, saved[0] as string));
  });

  it("--no-etcd-snapshot takes none", async () => {
    reset();
    const before = env.sim.node(CP).calls(SNAPSHOTS);
    const r = await upgrade("--no-etcd-snapshot");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).etcdSnapshot).toBeUndefined();
    expect(env.sim.node(CP).calls(SNAPSHOTS)).toBe(before);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe("taloskit etcd snapshot", () => {
  it("reads the file back and refuses a damaged stream, leaving no file", async () => {
    const ok = await runMain(
      etcdCommand,
      ["snapshot", "good.snapshot", "--talosconfig", cfg, "-n", CP],
      io(),
    );
    expect(ok.code).toBe(0);
    await verifyEtcdSnapshot(join(dir, "good.snapshot"));
    await rm(join(dir, "good.snapshot"));
    env.sim.faults.etcdSnapshotDamage(CP, "corrupt");
    try {
      const bad = await runMain(
        etcdCommand,
        ["snapshot", "bad.snapshot", "--talosconfig", cfg, "-n", CP],
        io(),
      );
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(
        /is not a readable etcd snapshot: the SHA-256 trailer does not match/,
      );
      expect(await readdir(dir)).toEqual([]);
    } finally {
      env.sim.faults.etcdSnapshotDamage(CP, null);
    }
  });
});

describe("a single-member etcd", () => {
  it("cannot hand leadership on: a warning event, and the upgrade goes on", async () => {
    reset();
    const plan = await planUpgrade(env.client, { to: "v1.14.0", factory: env.factoryClient });
    const rec = recorder();
    const s = await runUpgrade(env.client, plan, { ...FAST, onEvent: rec.on });
    expect(s.ok).toBe(true);
    expect(rec.events.filter((e) => e.type === "etcd-leadership")).toEqual([
      expect.objectContaining({
        node: CP,
        moved: false,
        detail: expect.stringMatching(/only etcd member/),
      }),
    ]);
    expect(env.sim.node(CP).calls("machine.MachineService/EtcdForfeitLeadership")).toBe(0);
    expect(env.sim.node(CP).state.version).toBe("v1.14.0");
  });
});
