// etcd, bootstrap, kubeconfig and cp through the taloskit binary's entry,
// global flags first, against the simulated cluster over real sockets.
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ClusterSimulator } from "@taloskit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { cpCommand } from "../../src/cli/commands/cp.js";
import { mergeKubeconfig } from "../../src/cli/commands/kubeconfig.js";
import { humanBytes } from "../../src/cli/commands/node-shell.js";
import { readTar } from "../../src/cli/tar.js";
import {
  type CliCluster,
  parseJsonStream,
  runMain,
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
        { address: "10.5.0.3", role: "controlplane" },
        { address: "10.5.0.4", role: "controlplane" },
        { address: "10.5.0.5", role: "worker" },
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

const tk = (...args: string[]) => runTaloskitMain(["--talosconfig", cfg, ...args]);
const hex = (id: bigint) => id.toString(16).padStart(16, "0");

describe("taloskit etcd", () => {
  it("members: one row per member as the node sees them", async () => {
    const r = await tk("-n", "10.5.0.2", "etcd", "members");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^NODE\s+ID\s+HOSTNAME\s+PEER URLS\s+CLIENT URLS\s+LEARNER$/);
    expect(lines).toHaveLength(4);
    const id = sim.node("10.5.0.3").state.etcd?.id as bigint;
    expect(r.stdout).toMatch(
      new RegExp(`10\\.5\\.0\\.2\\s+${hex(id)}\\s+talos-10-5-0-3\\s+https://10\\.5\\.0\\.3:2380`),
    );
  });

  it("status: sizes, leader and raft indexes, -o json for scripts", async () => {
    const r = await tk("-n", "10.5.0.2,10.5.0.3", "-o", "json", "etcd", "status");
    expect(r.code).toBe(0);
    const rows = parseJsonStream(r.stdout) as Record<string, unknown>[];
    expect(rows.map((x) => x.node)).toEqual(["10.5.0.2", "10.5.0.3"]);
    expect(rows[0]).toMatchObject({ dbSize: 20_000_000, dbSizeInUse: 10_000_000, learner: false });
    const table = await tk("-n", "10.5.0.2", "etcd", "status");
    expect(table.stdout).toMatch(/10\.5\.0\.2\s+[0-9a-f]{16}\s+20 MB\s+10 MB \(50\.00%\)/);
  });

  it("defrag shrinks the database to what is in use", async () => {
    const r = await tk("-n", "10.5.0.4", "etcd", "defrag");
    expect(r).toEqual({ stdout: "", stderr: "", code: 0 });
    expect(sim.node("10.5.0.4").state.etcd?.dbSize).toBe(10_000_000n);
  });

  it("forfeit-leadership hands the lead to another member", async () => {
    const r = await tk("-n", "10.5.0.2", "-o", "json", "etcd", "forfeit-leadership");
    expect(r.code).toBe(0);
    const next = sim.node("10.5.0.3").state.etcd;
    expect(next?.leader).toBe(true);
    expect(parseJsonStream(r.stdout)).toEqual([
      { node: "10.5.0.2", member: next?.id.toString(16) },
    ]);
  });

  it("alarm list shows the cluster's alarms", async () => {
    const e = sim.node("10.5.0.3").state.etcd;
    if (e) e.alarms = ["NOSPACE"];
    const r = await tk("-n", "10.5.0.2", "etcd", "alarm", "list");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`10\\.5\\.0\\.2\\s+${hex(e?.id ?? 0n)}\\s+NOSPACE`));
  });

  it("snapshot writes the node's snapshot to a path relative to the user's directory", async () => {
    const r = await runTaloskitMain(
      ["--talosconfig", cfg, "-n", "10.5.0.2", "etcd", "snapshot", "db.snapshot"],
      { env: { INIT_CWD: dir, npm_lifecycle_event: "taloskit" } },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const path = join(dir, "db.snapshot");
    const { size, mode } = await stat(path);
    expect(size).toBeGreaterThan(4096);
    expect(mode & 0o777).toBe(0o600);
    expect(r.stdout).toBe(`etcd snapshot saved to ${JSON.stringify(path)} (${size} bytes)\n`);
  });

  it("a worker has no etcd: one line naming it, exit 1", async () => {
    const r = await tk("-n", "10.5.0.5", "etcd", "status");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^taloskit: 10\.5\.0\.5: .*etcd is not running on this node\n$/);
  });

  it("leave takes the member out of the cluster", async () => {
    const r = await tk("-n", "10.5.0.4", "etcd", "leave");
    expect(r.code).toBe(0);
    expect(sim.node("10.5.0.4").state.etcd).toBeUndefined();
    const members = await tk("-n", "10.5.0.2", "-o", "json", "etcd", "members");
    expect(parseJsonStream(members.stdout)).toHaveLength(2);
  });
});

describe("taloskit bootstrap", () => {
  it("bootstraps a new cluster once; a second time the node refuses", async () => {
    const node = sim.node("10.5.0.2");
    node.state.etcdBootstrapped = false;
    const r = await tk("-n", "10.5.0.2", "bootstrap");
    expect(r).toEqual({ stdout: "", stderr: "", code: 0 });
    expect(node.state.etcdBootstrapped).toBe(true);
    const again = await tk("-n", "10.5.0.2", "bootstrap");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^taloskit: 10\.5\.0\.2: .*etcd data directory is not empty\n$/);
  });

  it("refuses several nodes before contacting any", async () => {
    const r = await tk("-n", "10.5.0.2,10.5.0.3", "bootstrap");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "taloskit: bootstrap works on one node at a time: pass one with -n (got 10.5.0.2, 10.5.0.3)\n",
    );
    expect(sim.node("10.5.0.3").calls("machine.MachineService/Bootstrap")).toBe(0);
  });
});

describe("taloskit kubeconfig", () => {
  it("writes the admin kubeconfig into a directory, relative to the user's directory", async () => {
    await mkdir(join(dir, "kc"), { recursive: true });
    const r = await runTaloskitMain(["--talosconfig", cfg, "-n", "10.5.0.2", "kubeconfig", "kc"], {
      env: { INIT_CWD: dir, npm_lifecycle_event: "taloskit" },
    });
    expect(r).toEqual({ stdout: "", stderr: "", code: 0 });
    const kc = parse(await readFile(join(dir, "kc", "kubeconfig"), "utf8"));
    expect(kc["current-context"]).toBe("admin@sim");
    expect(kc.clusters[0].cluster.server).toBe("https://10.5.0.2:6443");
  });

  it("merges into an existing kubeconfig, renaming what clashes unless --force", async () => {
    const path = join(dir, "merged");
    await writeFile(
      path,
      "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster: {server: https://old:6443}\nusers: []\ncontexts:\n- name: other\n  context: {cluster: sim, user: x}\ncurrent-context: other\n",
    );
    const r = await tk("-n", "10.5.0.2", "-o", "json", "kubeconfig", path);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('renamed cluster "sim" as "sim-1"');
    const kc = parse(await readFile(path, "utf8"));
    expect(kc.clusters.map((c: { name: string }) => c.name)).toEqual(["sim", "sim-1"]);
    expect(kc.contexts.map((c: { name: string }) => c.name)).toEqual(["other", "admin@sim"]);
    expect(kc.contexts[1].context.cluster).toBe("sim-1");
    expect(kc["current-context"]).toBe("admin@sim");
    expect(parseJsonStream(r.stdout)).toEqual([
      { node: "10.5.0.2", path, merged: true, context: "admin@sim" },
    ]);

    const forced = await tk("-n", "10.5.0.2", "kubeconfig", path, "--force");
    expect(forced.code).toBe(0);
    const kc2 = parse(await readFile(path, "utf8"));
    expect(kc2.clusters.find((c: { name: string }) => c.name === "sim").cluster.server).toBe(
      "https://10.5.0.2:6443",
    );
  });

  it("--merge=false refuses to overwrite without --force, naming the absolute path", async () => {
    const path = join(dir, "merged");
    const before = await readFile(path, "utf8");
    const r = await tk("-n", "10.5.0.2", "kubeconfig", path, "--merge=false");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `taloskit: kubeconfig file already exists, use --force to overwrite: ${path}\n`,
    );
    expect(await readFile(path, "utf8")).toBe(before);
  });

  it("- prints it", async () => {
    const r = await tk("-n", "10.5.0.2", "kubeconfig", "-");
    expect(r.code).toBe(0);
    expect(parse(r.stdout).kind).toBe("Config");
  });

  it("merging keeps identical entries once", () => {
    const kc = {
      clusters: [{ name: "a", cluster: { server: "s" } }],
      users: [{ name: "u", user: {} }],
      contexts: [{ name: "c", context: { cluster: "a", user: "u" } }],
      "current-context": "c",
    };
    const m = mergeKubeconfig(kc, kc, false);
    expect(m.renamed).toEqual([]);
    expect(m.config.clusters).toHaveLength(1);
  });
});

describe("taloskit cp", () => {
  it("extracts a node's directory under a local one", async () => {
    sim.node("10.5.0.5").state.files.set("/var/log/app/a.log", "alpha\n");
    sim.node("10.5.0.5").state.files.set("/var/log/app/sub/b.log", "beta\n");
    const r = await runTaloskitMain(
      ["--talosconfig", cfg, "-n", "10.5.0.5", "-o", "json", "cp", "/var/log/app", "out"],
      { env: { INIT_CWD: dir, npm_lifecycle_event: "taloskit" } },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(await readFile(join(dir, "out", "app", "a.log"), "utf8")).toBe("alpha\n");
    expect(await readFile(join(dir, "out", "app", "sub", "b.log"), "utf8")).toBe("beta\n");
    expect(parseJsonStream(r.stdout)).toEqual([
      { node: "10.5.0.5", source: "/var/log/app", path: join(dir, "out"), files: 2, bytes: 11 },
    ]);
  });

  it("- writes the archive to stdout; on a terminal progress goes to stderr", async () => {
    let bytes = Buffer.alloc(0);
    const r = await runMain(
      cpCommand,
      ["--talosconfig", cfg, "-n", "10.5.0.5", "/etc/hostname", "-"],
      {
        env: {},
        isTTY: true,
        stdoutBytes: (b: Uint8Array) => {
          bytes = Buffer.concat([bytes, b]);
        },
      },
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("/etc/hostname: ");
    expect(readTar(bytes).map((e) => e.name)).toEqual(["hostname"]);
  });

  it("a missing path: one line naming the node, nothing written", async () => {
    const r = await runTaloskitMain(
      ["--talosconfig", cfg, "-n", "10.5.0.5", "cp", "/nope", "missing-out"],
      { env: { INIT_CWD: dir, npm_lifecycle_event: "taloskit" } },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^taloskit: 10\.5\.0\.5: .*\/nope.*\n$/);
    await expect(stat(join(dir, "missing-out"))).rejects.toThrow();
  });

  it("humanBytes rounds as talosctl prints sizes", () => {
    expect([5, 1500, 20_000_000, 123_456_789].map(humanBytes)).toEqual([
      "5 B",
      "1.5 kB",
      "20 MB",
      "124 MB",
    ]);
  });
});
