// The state file of a rolling upgrade against the simulated cluster and
// factory over real sockets: written after each node's change, resumed by a
// later run of the same plan at the node where the first stopped, and refused
// (before any node is touched) when it is of another plan or not a state file.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  planUpgrade,
  readUpgradeState,
  runUpgrade,
  UpgradeError,
  type UpgradeEvent,
  UpgradeRunError,
  type UpgradeState,
} from "../../src/upgrade/index.js";
import {
  clearNodeFaults,
  type Env,
  FAST,
  mutatingCalls,
  recorder,
  rejection,
  SCHEMATIC_A,
  SCHEMATIC_B,
  startEnv,
} from "./helpers.js";

const CP = "10.5.0.2";
const WORKERS = ["10.5.0.3", "10.5.0.4", "10.5.0.5"];
const ALL = [CP, ...WORKERS];
const opts = { ...FAST, gates: { intervalMs: 5, timeoutMs: 2_000 } };

let env: Env;
let dir: string;
let file: string;

beforeAll(async () => {
  env = await startEnv(
    ALL.map((address, i) => ({
      address,
      role: i === 0 ? ("controlplane" as const) : ("worker" as const),
      version: "v1.13.3",
      schematic: SCHEMATIC_A,
    })),
  );
  dir = mkdtempSync(join(tmpdir(), "taloskit-state-"));
});
afterAll(async () => {
  await env?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let n = 0;
beforeEach(() => {
  clearNodeFaults(env.sim);
  for (const node of env.sim.nodes) {
    node.state.version = "v1.13.3";
    node.state.schematic = SCHEMATIC_A;
    node.state.images.clear();
    node.state.pendingUpgrade = undefined;
    node.touch();
  }
  file = join(dir, `state-${++n}.json`);
});

const plan = (schematic?: string) =>
  planUpgrade(env.client, { to: "v1.14.0", factory: env.factoryClient, schematic });
const stateOf = (path = file) => JSON.parse(readFileSync(path, "utf8")) as UpgradeState;
const starts = (events: UpgradeEvent[]) =>
  events.flatMap((e) => (e.type === "node-start" ? [e.node] : []));

/** The UpgradeError a run rejects with. */
const failure = (p: Promise<unknown>) => rejection(p, UpgradeError);

describe("runUpgrade with a state file", () => {
  it("records each node as it changes; an aborted run resumes at the node it stopped at", async () => {
    const p = await plan();
    const ac = new AbortController();
    // What the file says as each node starts: every node before it recorded.
    const seen: string[] = [];
    const err = await failure(
      runUpgrade(env.client, p, {
        ...opts,
        signal: ac.signal,
        state: { path: file },
        onEvent: (e) => {
          if (e.type === "node-start") {
            seen.push(
              stateOf()
                .nodes.map((x) => `${x.node}:${x.status}`)
                .join(" "),
            );
          }
          // Interrupt the run as the second node starts.
          if (e.type === "node-start" && e.node === WORKERS[0]) ac.abort(new Error("interrupted"));
        },
      }),
    );
    expect(err).toBeInstanceOf(UpgradeRunError);
    expect({ code: err.code, node: err.node }).toEqual({
      code: "UPGRADE_ABORTED",
      node: WORKERS[0],
    });
    const [w1, w2, w3] = WORKERS;
    expect(seen).toEqual([
      `${CP}:pending ${w1}:pending ${w2}:pending ${w3}:pending`,
      `${CP}:done ${w1}:pending ${w2}:pending ${w3}:pending`,
    ]);
    const stopped = stateOf();
    expect(stopped).toMatchObject({
      kind: "taloskit/upgrade-state",
      version: 1,
      target: "v1.14.0",
      status: "failed",
      failure: { code: "UPGRADE_ABORTED", node: WORKERS[0], installPending: false },
    });
    expect(stopped.nodes.map((x) => [x.node, x.status, x.installed])).toEqual([
      [CP, "done", ["v1.14.0"]],
      [WORKERS[0], "failed", []],
      [WORKERS[1], "pending", []],
      [WORKERS[2], "pending", []],
    ]);
    const host = new URL(env.factory.url).host;
    expect(stopped.nodes[1]?.steps).toEqual([
      {
        version: "v1.14.0",
        image: `${host}/metal-installer/${SCHEMATIC_A}:v1.14.0`,
        schematic: SCHEMATIC_A,
        method: "lifecycle",
      },
    ]);
    // No temp file is left beside it.
    expect(readdirSync(dir).filter((f) => f.startsWith(`state-${n}.`))).toEqual([
      `state-${n}.json`,
    ]);

    // The same plan again, with the same file: the control plane is read and skipped, the rest run.
    const before = mutatingCalls(env.sim);
    const rec = recorder();
    const s = await runUpgrade(env.client, p, { ...opts, state: { path: file }, onEvent: rec.on });
    expect(s.ok).toBe(true);
    expect(rec.events.find((e) => e.type === "resume")).toMatchObject({
      path: file,
      done: [CP],
      failed: { code: "UPGRADE_ABORTED", node: WORKERS[0] },
    });
    expect(starts(rec.events)).toEqual(WORKERS);
    expect(mutatingCalls(env.sim).get(CP)).toBe(before.get(CP));
    for (const w of WORKERS) expect(mutatingCalls(env.sim).get(w)).toBeGreaterThan(0);
    const done = stateOf();
    expect(done.status).toBe("done");
    expect(done.failure).toBeUndefined();
    expect(done.nodes.every((x) => x.status === "done" && x.installed.join() === "v1.14.0")).toBe(
      true,
    );
    for (const a of ALL) expect(env.sim.node(a).state.version).toBe("v1.14.0");
  });

  it("records an installer written and not booted when the node stops before booting it", async () => {
    const bad = WORKERS[1] as string;
    env.sim.faults.ignoreReboots(bad);
    let err: UpgradeError;
    try {
      err = await failure(
        runUpgrade(env.client, await plan(), {
          ...opts,
          timeouts: { ...FAST.timeouts, rebootMs: 1_000 },
          state: { path: file },
        }),
      );
    } finally {
      env.sim.faults.ignoreReboots(bad, false);
    }
    expect(err.node).toBe(bad);
    expect(err.installPending).toBe(true);
    const s = stateOf();
    expect(s.failure).toMatchObject({ node: bad, installPending: true, code: err.code });
    expect(s.nodes.find((x) => x.node === bad)).toMatchObject({
      status: "failed",
      installPending: true,
    });
  });

  it("refuses the state file of another plan, and touches nothing", async () => {
    // With an etcd snapshot: the state file records where it went.
    const done = await runUpgrade(env.client, await plan(), {
      ...opts,
      etcdSnapshot: { dir },
      state: { path: file },
    });
    expect(done.etcdSnapshot).toMatch(/\.snapshot$/);
    expect(stateOf().etcdSnapshot).toBe(done.etcdSnapshot);
    // Back to 1.13.3: a plan that would upgrade every node again.
    for (const node of env.sim.nodes) {
      node.state.version = "v1.13.3";
      node.touch();
    }
    const recorded = readFileSync(file, "utf8");
    const before = mutatingCalls(env.sim);

    // Another schematic: other installer images for every node.
    const other = await failure(
      runUpgrade(env.client, await plan(SCHEMATIC_B), { ...opts, state: { path: file } }),
    );
    expect(other).not.toBeInstanceOf(UpgradeRunError);
    expect(other.code).toBe("UPGRADE_STATE_MISMATCH");
    expect(other.node).toBe(CP);
    expect(other.message).toContain(file);
    expect(other.message).toMatch(
      new RegExp(`${CP} installs \\S+/metal-installer/${SCHEMATIC_B}:v1.14.0 in this plan`),
    );

    // Another target.
    const foreign = join(dir, `target-${n}.json`);
    writeFileSync(foreign, JSON.stringify({ ...JSON.parse(recorded), target: "v1.13.3" }));
    const target = await failure(
      runUpgrade(env.client, await plan(), { ...opts, state: { path: foreign } }),
    );
    expect(target.code).toBe("UPGRADE_STATE_MISMATCH");
    expect(target.message).toMatch(/its target is v1.13.3, this plan's v1.14.0/);

    // A plan of fewer nodes.
    const fewer = await planUpgrade(env.client, {
      to: "v1.14.0",
      factory: env.factoryClient,
      nodes: [CP],
      subset: true,
    });
    const partial = await failure(
      runUpgrade(env.client, fewer, { ...opts, state: { path: file } }),
    );
    expect(partial.message).toMatch(/it has node 10.5.0.3, which this plan leaves out/);

    expect(mutatingCalls(env.sim)).toEqual(before);
    expect(readFileSync(file, "utf8")).toBe(recorded);
    // A dry run checks the file too, and writes nothing.
    await expect(
      runUpgrade(env.client, await plan(SCHEMATIC_B), { dryRun: true, state: { path: file } }),
    ).rejects.toMatchObject({ code: "UPGRADE_STATE_MISMATCH" });
    expect(readFileSync(file, "utf8")).toBe(recorded);
  });

  it("a truncated, foreign or malformed state file is a typed error naming the file, and nothing is done", async () => {
    const p = await plan();
    await runUpgrade(env.client, p, { dryRun: true, state: { path: file } });
    expect(() => readFileSync(file)).toThrow(/ENOENT/);
    // A real state file to spoil: of a run aborted before its first node.
    const ac = new AbortController();
    ac.abort();
    await failure(runUpgrade(env.client, p, { ...opts, signal: ac.signal, state: { path: file } }));
    const text = readFileSync(file, "utf8");
    const spoilt = {
      truncated: [text.slice(0, text.length / 2), /not valid JSON .*truncated\?/],
      garbage: ["\u0000\u0001garbage", /not valid JSON/],
      foreign: ['{"apiVersion": "v1", "kind": "Config"}', /its "kind" is "Config", not/],
      empty: ["null", /its "kind" is undefined/],
      malformed: [
        text.replace('"status": "pending"', '"status": "half-way"'),
        /nodes\[1\]\.status: /,
      ],
    } as const;
    const before = mutatingCalls(env.sim);
    for (const [name, [content, reason]] of Object.entries(spoilt)) {
      const path = join(dir, `${name}-${n}.json`);
      writeFileSync(path, content);
      const e = await failure(runUpgrade(env.client, p, { ...opts, state: { path } }));
      expect(e.code, name).toBe("UPGRADE_STATE_INVALID");
      expect(e.message, name).toContain(`${path} is not a usable taloskit upgrade state`);
      expect(e.message, name).toMatch(reason);
      expect(readFileSync(path, "utf8"), name).toBe(content);
      expect(() => readUpgradeState(path), name).toThrow(UpgradeError);
    }
    // A directory where the file should be.
    const e = await failure(runUpgrade(env.client, p, { ...opts, state: { path: dir } }));
    expect(e.message).toMatch(/cannot be read/);
    expect(mutatingCalls(env.sim)).toEqual(before);
  });

  it("stops before the next node when the state file cannot be written", async () => {
    const before = mutatingCalls(env.sim);
    const err = await failure(
      runUpgrade(env.client, await plan(), {
        ...opts,
        state: { path: file },
        onEvent: (e) => {
          // The file's place taken by a directory: every later write fails.
          if (e.type === "node-done" && e.node === CP) {
            rmSync(file);
            mkdirSync(join(file, "taken"), { recursive: true });
          }
        },
      }),
    );
    expect(err).toBeInstanceOf(UpgradeRunError);
    expect(err.code).toBe("UPGRADE_STATE_WRITE_FAILED");
    expect(err.message).toContain(file);
    expect(env.sim.node(CP).state.version).toBe("v1.14.0");
    for (const w of WORKERS) expect(mutatingCalls(env.sim).get(w)).toBe(before.get(w));
    expect((err as UpgradeRunError).summary.nodes.map((x) => x.status)).toEqual([
      "upgraded",
      "not-started",
      "not-started",
      "not-started",
    ]);
  });
});
