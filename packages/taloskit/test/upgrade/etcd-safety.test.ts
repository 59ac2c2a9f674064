// etcd safety of a rolling upgrade against the simulated cluster over real
// gRPC/TLS: one snapshot per run, saved and read back before any control
// plane is touched; a damaged snapshot stops the run with nothing touched;
// reuse on a resumed run; the leader hands leadership on before its reboot;
// learners do not count to quorum; and the snapshot restores on a fresh
// control plane (EtcdRecover, then Bootstrap with recover_etcd).
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TalosClient, TalosError } from "@taloskit/client";
import { startCluster } from "@taloskit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sizeMismatch } from "../../src/upgrade/etcd-safety.js";
import { verifyEtcdSnapshot } from "../../src/upgrade/etcd-snapshot.js";
import {
  planUpgrade,
  runUpgrade,
  type UpgradeEvent,
  UpgradeRunError,
} from "../../src/upgrade/index.js";
import {
  type Env,
  FAST,
  recorder,
  rejection,
  SCHEMATIC_A,
  snapshot,
  startEnv,
  touched,
} from "./helpers.js";

const CPS = ["10.5.0.2", "10.5.0.3", "10.5.0.4"];
const WORKER = "10.5.0.10";
const ALL = [...CPS, WORKER];
const KEYS = { "/registry/namespaces/default": "ns", "/registry/pods/default/app": "pod" };
const rpc = (m: string) => `machine.MachineService/${m}`;
/** The member ID of a node's etcd member as events print it. */
const memberOf = (a: string | undefined) =>
  (env.sim.node(a as string).state.etcd?.id ?? 0n).toString(16).padStart(16, "0");

let env: Env;
let dir: string;
const opts = { ...FAST, gates: { intervalMs: 5, timeoutMs: 2_000 } };

beforeAll(async () => {
  env = await startEnv([
    ...CPS.map((address) => ({
      address,
      role: "controlplane" as const,
      version: "v1.13.3",
      schematic: SCHEMATIC_A,
    })),
    { address: WORKER, role: "worker", version: "v1.13.3", schematic: SCHEMATIC_A },
  ]);
  dir = await mkdtemp(join(tmpdir(), "taloskit-etcd-"));
});
afterAll(async () => {
  await env?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Every node back at 1.13.3, healthy, no faults; the members carry KEYS; `leader` leads. */
function reset(leader = CPS[0]) {
  for (const n of env.sim.nodes) {
    n.state.version = "v1.13.3";
    n.state.images.clear();
    n.state.pendingUpgrade = undefined;
    env.sim.faults.etcdUnhealthy(n.address, false);
    env.sim.faults.etcdSnapshotDamage(n.address, null);
    const e = n.state.etcd;
    if (e) {
      e.keys = { ...KEYS };
      e.isLearner = false;
      e.alarms = undefined;
      e.leader = n.address === leader;
      // A small database keeps the snapshots quick.
      e.dbSize = 300_000n;
    }
    n.touch();
  }
}

/** Raises an etcd alarm on a node's member (EtcdStatus then lists it among its errors). */
const alarm = (a: string | undefined, kind: "NOSPACE" | "CORRUPT") => {
  const e = env.sim.node(a as string).state.etcd;
  if (e) e.alarms = [kind];
};
const calls = (m: string) => CPS.map((a) => env.sim.node(a).calls(rpc(m)));
const plan = () => planUpgrade(env.client, { to: "v1.14.0", factory: env.factoryClient });

const runError = (p: Promise<unknown>) => rejection(p, UpgradeRunError);

describe("the etcd snapshot of a run", () => {
  it("is taken once, from a member not about to go down, before any node is touched, and read back", async () => {
    reset();
    const p = await plan();
    const path = join(dir, "run.snapshot");
    const before = calls("EtcdSnapshot");
    const rec = recorder();
    const nodes = snapshot(env.sim);
    const touchedNodes = () => ALL.filter((a) => touched(env.sim, a, nodes.get(a) as never));
    // The nodes the run had touched when the snapshot was saved.
    let atSnapshot: string[] | undefined;
    const s = await runUpgrade(env.client, p, {
      ...opts,
      etcdSnapshot: { path },
      onEvent: (e) => {
        rec.on(e);
        if (e.type === "etcd-snapshot") atSnapshot = touchedNodes();
      },
    });
    expect(s.ok).toBe(true);
    expect(s.etcdSnapshot).toBe(path);
    // One EtcdSnapshot in the run, from the second control plane: the first goes down first.
    expect(calls("EtcdSnapshot").map((n, i) => n - (before[i] ?? 0))).toEqual([0, 1, 0]);
    const ev = rec.events.filter((e) => e.type === "etcd-snapshot");
    expect(ev).toHaveLength(1);
    const info = await verifyEtcdSnapshot(path);
    expect(ev[0]).toMatchObject({ path, bytes: info.size, node: CPS[1], reused: false });
    expect((ev[0] as { member: string }).member).toBe(memberOf(CPS[1]));
    // Before any node was touched (and every node was by the end), before any node-start.
    expect(atSnapshot).toEqual([]);
    expect(touchedNodes()).toEqual(ALL);
    expect(rec.events.findIndex((e) => e.type === "etcd-snapshot")).toBeLessThan(
      rec.events.findIndex((e) => e.type === "node-start"),
    );
    // The database is the size the member reports (padded bbolt pages) plus the trailer.
    expect(info.dbSize).toBe(Math.ceil(300_000 / 4096) * 4096);
    expect(info.size).toBe(info.dbSize + 32);
    // Only the snapshot is left in the directory: the temporary file was renamed.
    expect(await readdir(dir)).toEqual(["run.snapshot"]);
  });

  for (const [why, fault] of [
    ["whose EtcdStatus fails", () => env.sim.faults.etcdUnhealthy(CPS[1] as string)],
    ["that reports errors (an alarm)", () => alarm(CPS[1], "NOSPACE")],
  ] as const) {
    it(`comes from a healthy member: one ${why} is passed over`, async () => {
      reset();
      const p = await plan();
      fault();
      const before = calls("EtcdSnapshot");
      const path = join(dir, "healthy.snapshot");
      // The gate would refuse the unhealthy member; this checks the snapshot's choice alone.
      const s = await runUpgrade(env.client, p, {
        ...opts,
        gates: { etcd: false },
        etcdSnapshot: { path },
      });
      expect(s.etcdSnapshot).toBe(path);
      expect(calls("EtcdSnapshot").map((n, i) => n - (before[i] ?? 0))).toEqual([0, 0, 1]);
      await rm(path);
    });
  }

  for (const damage of ["truncate", "corrupt"] as const) {
    it(`a snapshot streamed with a ${damage} fault stops the run before any node is touched`, async () => {
      reset();
      const p = await plan();
      env.sim.faults.etcdSnapshotDamage(CPS[1] as string, damage);
      const nodes = snapshot(env.sim);
      const rec = recorder();
      const path = join(dir, `${damage}.snapshot`);
      const err = await runError(
        runUpgrade(env.client, p, { ...opts, etcdSnapshot: { path }, onEvent: rec.on }),
      );
      expect({ code: err.code, step: err.step }).toEqual({
        code: "UPGRADE_ETCD_SNAPSHOT_FAILED",
        step: "snapshot",
      });
      expect(err.message).toMatch(
        damage === "truncate" ? /SHA-256 trailer|truncated/ : /does not match the database/,
      );
      for (const a of ALL) expect(touched(env.sim, a, nodes.get(a) as never), a).toBe(false);
      expect(err.summary.nodes.every((n) => n.status === "not-started")).toBe(true);
      expect(rec.events.some((e) => e.type === "node-start" || e.type === "gate")).toBe(false);
      // Neither the snapshot nor its temporary file is left behind.
      expect((await readdir(dir)).filter((f) => f.includes(damage))).toEqual([]);
    });
  }

  it("a resumed run verifies and reuses the snapshot instead of taking another", async () => {
    reset();
    const path = join(dir, "run.snapshot");
    const p = await plan();
    const before = calls("EtcdSnapshot");
    const rec = recorder();
    const s = await runUpgrade(env.client, p, {
      ...opts,
      etcdSnapshot: { path, reuse: true },
      onEvent: rec.on,
    });
    expect(s.etcdSnapshot).toBe(path);
    expect(calls("EtcdSnapshot")).toEqual(before);
    expect(rec.events.find((e) => e.type === "etcd-snapshot")).toMatchObject({
      path,
      reused: true,
    });
  });

  it("reusing a missing or damaged file stops the run before any node is touched", async () => {
    reset();
    const p = await plan();
    const damaged = join(dir, "damaged.snapshot");
    const good = await readFile(join(dir, "run.snapshot"));
    good[100] = (good[100] ?? 0) ^ 1;
    await writeFile(damaged, good);
    for (const [path, why] of [
      [join(dir, "missing.snapshot"), /cannot open it \(ENOENT\)/],
      [damaged, /does not match the database/],
    ] as const) {
      const nodes = snapshot(env.sim);
      const err = await runError(
        runUpgrade(env.client, p, { ...opts, etcdSnapshot: { path, reuse: true } }),
      );
      expect(err.code).toBe("UPGRADE_ETCD_SNAPSHOT_FAILED");
      expect(err.message).toMatch(why);
      for (const a of ALL) expect(touched(env.sim, a, nodes.get(a) as never), a).toBe(false);
    }
    await rm(damaged);
  });
});

describe("reading a snapshot back", () => {
  /** A file of `db` followed by its SHA-256, as etcd streams one. */
  async function withTrailer(name: string, db: Buffer): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, Buffer.concat([db, createHash("sha256").update(db).digest()]));
    return path;
  }

  it("checks bbolt's meta pages behind a correct hash", async () => {
    const good = await readFile(join(dir, "run.snapshot"));
    const db = good.subarray(0, good.length - 32);
    // Zeros: no meta page at all.
    const zeros = await withTrailer("zeros.snapshot", Buffer.alloc(8192));
    await expect(verifyEtcdSnapshot(zeros)).rejects.toThrow(
      /no valid bbolt meta page \(page 0: the page is not a meta page; page 1: meta page 0 gives no page size\)/,
    );
    // The txid of a meta page changed without its FNV-1a checksum: both pages refused.
    const tampered = Buffer.from(db);
    for (const at of [16 + 48, 4096 + 16 + 48]) tampered[at] = (tampered[at] ?? 0) ^ 1;
    await expect(
      verifyEtcdSnapshot(await withTrailer("tampered.snapshot", tampered)),
    ).rejects.toThrow(/meta checksum mismatch/);
    // One valid meta page is enough, as for bbolt.
    const oneBad = Buffer.from(db);
    oneBad[4096 + 16 + 48] = (oneBad[4096 + 16 + 48] ?? 0) ^ 1;
    await expect(
      verifyEtcdSnapshot(await withTrailer("one-bad.snapshot", oneBad)),
    ).resolves.toMatchObject({ dbSize: db.length });
    // A page more than the meta page counts.
    const longer = Buffer.concat([db, Buffer.alloc(4096)]);
    await expect(verifyEtcdSnapshot(await withTrailer("longer.snapshot", longer))).rejects.toThrow(
      /has \d+ bytes but its meta page counts \d+ pages of 4096/,
    );
    for (const f of ["zeros", "tampered", "one-bad", "longer"])
      await rm(join(dir, `${f}.snapshot`));
  });

  it("the size must be near what the member reported (the cluster writes while it streams)", () => {
    expect(sizeMismatch(303_104, 300_000n)).toBeUndefined();
    expect(sizeMismatch(200_000_000, 190_000_000n)).toBeUndefined();
    expect(sizeMismatch(16_384, 2_000_000_000n)).toMatch(
      /database has 16384 bytes but the member reported 2000000000/,
    );
    expect(sizeMismatch(400_000_000, 200_000_000n)).toMatch(/reported 200000000/);
  });
});

describe("etcd leadership and quorum", () => {
  it("the leader hands leadership on just before its reboot; non-leaders are not asked", async () => {
    reset(CPS[1]);
    const p = await plan();
    const forfeits = calls("EtcdForfeitLeadership");
    const rec = recorder();
    // At each control plane's reboot step: its forfeit and reboot calls so far.
    const atReboot = new Map<string, [number, number]>();
    const onEvent = (e: UpgradeEvent) => {
      rec.on(e);
      if (e.type === "step" && e.step === "reboot")
        atReboot.set(e.node, [
          env.sim.node(e.node).calls(rpc("EtcdForfeitLeadership")),
          env.sim.node(e.node).calls(rpc("Reboot")),
        ]);
    };
    await runUpgrade(env.client, p, { ...opts, onEvent });
    // The leader (10.5.0.3) forfeited once; the simulator hands leadership to the
    // first other member (10.5.0.2, already upgraded), so 10.5.0.4 never led.
    expect(calls("EtcdForfeitLeadership").map((n, i) => n - (forfeits[i] ?? 0))).toEqual([0, 1, 0]);
    const r = env.sim.node(CPS[1] as string);
    expect(atReboot.get(CPS[1] as string)).toEqual([
      r.calls(rpc("EtcdForfeitLeadership")),
      r.calls(rpc("Reboot")) - 1,
    ]);
    const lead = rec.events.filter((e) => e.type === "etcd-leadership");
    expect(lead).toEqual([
      expect.objectContaining({
        node: CPS[1],
        moved: true,
        leader: memberOf(CPS[0]),
      }),
    ]);
    const trail = rec.events.flatMap((e) =>
      "node" in e && e.node === CPS[1] && (e.type === "step" || e.type === "etcd-leadership")
        ? [e.type === "step" ? e.step : e.type]
        : [],
    );
    expect(trail.indexOf("etcd-leadership")).toBe(trail.indexOf("reboot") - 1);
    expect(env.sim.node(CPS[0] as string).state.etcd?.leader).toBe(true);
  });

  it("a leader whose etcd fails before its reboot is not rebooted: UPGRADE_ETCD_LEADERSHIP", async () => {
    reset(CPS[0]);
    const p = await plan();
    const leader = CPS[0] as string;
    const boots = env.sim.node(leader).state.boots;
    const reboots = env.sim.node(leader).calls(rpc("Reboot"));
    // etcd on the leader stops answering once its installer has run (before the hook).
    const onEvent = (e: UpgradeEvent) => {
      if (e.type === "step" && e.step === "install" && e.node === leader)
        env.sim.faults.etcdUnhealthy(leader);
    };
    const err = await runError(runUpgrade(env.client, p, { ...opts, onEvent }));
    expect({ node: err.node, code: err.code, step: err.step }).toEqual({
      node: leader,
      code: "UPGRADE_ETCD_LEADERSHIP",
      step: "reboot",
    });
    expect(err.message).toMatch(/could not move etcd leadership off the node before its reboot/);
    // The installer is written and pending; the node did not reboot, nothing else was touched.
    expect(err.installPending).toBe(true);
    expect(err.message).toMatch(/is installed on 10\.5\.0\.2 and pending/);
    expect(env.sim.node(leader).state.boots).toBe(boots);
    expect(env.sim.node(leader).calls(rpc("Reboot"))).toBe(reboots);
  });

  /** Runs the plan after `fault`: the etcd gate refuses at `node` with `message`, nothing touched. */
  async function gateRefuses(fault: () => void, node: string | undefined, message: RegExp) {
    reset();
    const p = await plan();
    fault();
    const nodes = snapshot(env.sim);
    const err = await runError(runUpgrade(env.client, p, opts));
    expect({ node: err.node, code: err.code, step: err.step }).toEqual({
      node,
      code: "UPGRADE_ETCD_UNHEALTHY",
      step: "gate",
    });
    expect(err.message).toMatch(message);
    for (const a of ALL) expect(touched(env.sim, a, nodes.get(a) as never), a).toBe(false);
  }

  it("a member reporting errors stops the gate before any node is touched", async () => {
    await gateRefuses(
      () => alarm(CPS[2], "CORRUPT"),
      CPS[2],
      /etcd on 10\.5\.0\.4 reports errors \(memberID:\d+ alarm:CORRUPT\)/,
    );
  });

  it("a learner does not count to quorum: two voters cannot lose one", async () => {
    await gateRefuses(
      () => {
        (env.sim.node(CPS[2] as string).state.etcd as { isLearner: boolean }).isLearner = true;
      },
      CPS[0],
      /2 voting member\(s\) and 1 learner\(s\).*would leave 1 healthy voting member/,
    );
  });

  it("a member outside the plan counts only when its node vouches for it", async () => {
    reset();
    // The plan holds one control plane: the two other members are outside it,
    // asked at their client URLs' addresses.
    const p = await planUpgrade(env.client, {
      to: "v1.14.0",
      factory: env.factoryClient,
      nodes: [CPS[0] as string],
      subset: true,
    });
    env.sim.faults.unreachable(CPS[1] as string);
    try {
      const nodes = snapshot(env.sim);
      const err = await runError(runUpgrade(env.client, p, opts));
      expect({ node: err.node, code: err.code }).toEqual({
        node: CPS[0],
        code: "UPGRADE_ETCD_UNHEALTHY",
      });
      expect(err.message).toMatch(/3 voting member\(s\), 2 seen healthy.*would leave 1/);
      expect(touched(env.sim, CPS[0] as string, nodes.get(CPS[0] as string) as never)).toBe(false);
    } finally {
      env.sim.faults.unreachable(CPS[1] as string, false);
    }
  });
});

describe("restoring the run's snapshot", () => {
  it("a fresh control plane recovers from it: EtcdRecover, then Bootstrap with recover_etcd", async () => {
    const file = await readFile(join(dir, "run.snapshot"));
    const fresh = await startCluster({
      nodes: [{ address: "10.6.0.2", role: "controlplane", hostname: "fresh" }],
    });
    const client = TalosClient.connect(fresh.clientOptions({ roles: ["os:admin"] }));
    try {
      const node = fresh.node("10.6.0.2");
      // A wiped control plane waiting for bootstrap: no etcd member, no data.
      node.state.etcd = undefined;
      node.state.etcdBootstrapped = false;
      const member = () => node.state.etcd;
      const at = { node: "10.6.0.2" };
      const machine = client.at("10.6.0.2").machine;

      // A damaged upload is stored (as Talos does) but refused at bootstrap; nothing starts.
      const bad = Buffer.from(file);
      bad[bad.length - 40] = (bad[bad.length - 40] ?? 0) ^ 1;
      await client.streams.etcdRecover([bad], at);
      const refused = await machine.bootstrap({ recoverEtcd: true }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(TalosError);
      expect((refused as TalosError).message).toMatch(/hash mismatch/);
      expect(member()).toBeUndefined();
      expect(node.state.etcdBootstrapped).toBe(false);

      await client.streams.etcdRecover([file.subarray(0, 5000), file.subarray(5000)], at);
      await machine.bootstrap({ recoverEtcd: true });
      expect(node.state.etcdBootstrapped).toBe(true);
      expect(member()?.keys).toEqual(KEYS);
      // The restored member serves: its own snapshot carries the same keys.
      const again = join(dir, "restored.snapshot");
      await writeFile(again, await client.streams.etcdSnapshot(at).bytes());
      expect((await stat(again)).size).toBeGreaterThan(0);
      await verifyEtcdSnapshot(again);
      await rm(again);
    } finally {
      client.close();
      await fresh.close();
    }
  });
});
