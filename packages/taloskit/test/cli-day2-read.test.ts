// talosctl's read-only day-2 commands through the taloskit binary's entry,
// against the simulated cluster over real sockets, typed as a talosctl user
// types them (global flags first): content of the table and of -o json, and
// bad input as one stderr line naming the node with exit code 1.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StreamIO } from "../src/cli/commands/node-shell.js";
import { type ProgramIO, runTaloskit } from "../src/cli/program.js";
import {
  type CliCluster,
  type CliResult,
  parseJsonStream,
  runTaloskitMain,
  startCliCluster,
} from "./helpers/cli.js";

let cluster: CliCluster;
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
      ],
    },
    { roles: ["os:reader"], nodes: ["10.5.0.2"] },
  );
  cfg = cluster.cfg;
});
afterAll(async () => {
  await cluster?.close();
});

/** `taloskit --talosconfig <cfg> <args>`. */
const tk = (...args: string[]) => runTaloskitMain(["--talosconfig", cfg, ...args]);
const json = <T = Record<string, unknown>>(r: CliResult) => parseJsonStream(r.stdout) as T[];
const lines = (text: string) => text.trimEnd().split("\n");

/** Expects one failure line on stderr that names `node`, and exit code 1. */
function expectNodeFailure(r: CliResult, node: string, reason: RegExp) {
  expect(r.code).toBe(1);
  const err = lines(r.stderr);
  expect(err).toHaveLength(1);
  expect(err[0]).toMatch(/^taloskit: /);
  expect(err[0]).toContain(node);
  expect(err[0]).toMatch(reason);
}

/**
 * Runs a streaming command until `done(stdout)` holds, then stops it as Ctrl-C
 * would (the command's signal); resolves once the command has returned.
 */
async function follow(args: string[], done: (stdout: string) => boolean): Promise<CliResult> {
  const controller = new AbortController();
  const out = { stdout: "", stderr: "" };
  const io: Partial<ProgramIO> & StreamIO = {
    env: {},
    signal: controller.signal,
    stdout: (t) => {
      out.stdout += t;
      if (done(out.stdout)) controller.abort();
    },
    stderr: (t) => {
      out.stderr += t;
    },
  };
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    await runTaloskit(["--talosconfig", cfg, ...args], io);
    // Stopping closed every server stream the command opened.
    for (const node of ["10.5.0.2", "10.5.0.3"])
      await cluster.sim.node(node).streamsClosed(undefined, 5_000);
    return { ...out, code: process.exitCode ?? 0 };
  } finally {
    process.exitCode = before;
  }
}

describe("services and service", () => {
  it("lists each node's services as talosctl does", async () => {
    const r = await tk("-n", "10.5.0.2,10.5.0.3", "services");
    expect(r.stderr).toBe("");
    const [head, ...rows] = lines(r.stdout);
    expect(head).toMatch(/^NODE\s+SERVICE\s+STATE\s+HEALTH\s+LAST CHANGE\s+LAST EVENT$/);
    expect(rows).toContainEqual(
      expect.stringMatching(
        /^10\.5\.0\.2\s+etcd\s+Running\s+OK\s+\d+s ago\s+Health check successful$/,
      ),
    );
    // machined runs as a goroutine, without a health check.
    expect(rows).toContainEqual(
      expect.stringMatching(
        /^10\.5\.0\.3\s+machined\s+Running\s+\?\s+\d+s ago\s+Service started as goroutine$/,
      ),
    );
    expect(rows.some((l) => /^10\.5\.0\.3\s+kubelet\s+Running\s+OK/.test(l))).toBe(true);
    expect(rows.some((l) => /^10\.5\.0\.3\s+etcd\s/.test(l))).toBe(false);
    const docs = json<{ node: string; id: string; state: string }>(
      await tk("-n", "10.5.0.3", "-o", "json", "services"),
    );
    expect(docs.map((d) => d.id)).toContain("kubelet");
    // `service` without an ID lists them too, as talosctl's does.
    expect(json(await tk("-n", "10.5.0.3", "-o", "json", "service"))).toEqual(
      docs.map((d) => ({ ...d, events: expect.any(Array), health: expect.any(Object) })),
    );
    expect(docs.every((d) => d.node === "10.5.0.3" && d.state === "Running")).toBe(true);
  });

  it("describes one service, and names the node where it is not registered", async () => {
    const r = await tk("-n", "10.5.0.2", "service", "etcd");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^NODE\s+10\.5\.0\.2\nID\s+etcd\nSTATE\s+Running\nHEALTH\s+OK\nEVENTS\s+\[Running\]: Health check successful \(\d+s ago\)\n\s+\[Running\]: Started task etcd /,
    );
    expect(json(await tk("-o", "json", "service", "etcd", "status"))).toMatchObject([
      { node: "10.5.0.2", id: "etcd", state: "Running", health: { healthy: true } },
    ]);
    expectNodeFailure(
      await tk("-n", "10.5.0.3", "service", "etcd"),
      "10.5.0.3",
      /service "etcd" is not registered/,
    );
  });
});

describe("logs and dmesg", () => {
  it("prints a service's last lines prefixed by the node", async () => {
    const r = await tk("-n", "10.5.0.2", "logs", "kubelet", "--tail", "1");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("10.5.0.2: [talos] kubelet started\n");
    const all = json(await tk("-n", "10.5.0.2,10.5.0.3", "-o", "json", "logs", "apid"));
    // Nodes are read side by side; each node's lines keep their order.
    for (const node of ["10.5.0.2", "10.5.0.3"])
      expect(all.filter((d) => d.node === node)).toEqual([
        { message: "[talos] apid starting", node },
        { message: "[talos] apid started", node },
      ]);
  });

  it("reads a Kubernetes container's logs with -k", async () => {
    const pods = json<{ id: string; podId: string }>(await tk("-o", "json", "containers", "-k"));
    const container = pods.find((p) => p.id !== p.podId && p.id.includes("kube-apiserver"));
    expect(container).toBeDefined();
    const r = await tk("logs", "-k", container?.id ?? "", "--tail", "1");
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^10\.5\.0\.2: .+\n$/);
  });

  it("refuses an unknown service naming the node", async () => {
    expectNodeFailure(
      await tk("-n", "10.5.0.3", "logs", "nope"),
      "10.5.0.3",
      /"nope" was not registered/,
    );
  });

  it("follows logs until stopped, then closes the stream", async () => {
    let open = 0;
    const r = await follow(["-n", "10.5.0.2", "logs", "-f", "machined"], (o) => {
      open = cluster.sim.node("10.5.0.2").openStreams("machine.MachineService/Logs");
      return o.includes("started");
    });
    expect(open).toBe(1);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(lines(r.stdout)).toEqual([
      "10.5.0.2: [talos] machined starting",
      "10.5.0.2: [talos] machined started",
    ]);
  });

  it("prints kernel messages, follows them with -f, and names an unreachable node", async () => {
    const r = await tk("-n", "10.5.0.2", "dmesg");
    expect(r.code).toBe(0);
    expect(lines(r.stdout)[0]).toMatch(
      /^10\.5\.0\.2: kern:\s+\w+: \[\d{4}-\d\d-\d\dT[\d:.]+Z\]: Linux version /,
    );
    const j = json<{ node: string; message: string }>(
      await tk("-n", "10.5.0.3", "-o", "json", "dmesg"),
    );
    expect(j[0]?.node).toBe("10.5.0.3");
    expect(j[0]?.message).toMatch(/^kern: /);
    const f = await follow(
      ["-n", "10.5.0.2,10.5.0.3", "dmesg", "-f"],
      (o) => (o.match(/Linux version/g) ?? []).length === 2,
    );
    expect(f.code).toBe(0);
    expect(f.stderr).toBe("");
    expectNodeFailure(
      await tk("-n", "10.5.0.2,10.5.0.77", "dmesg"),
      "10.5.0.77",
      /unavailable|no route/,
    );
  });
});

describe("containers, stats, processes, memory, mounts, time", () => {
  it("lists system containers, and Kubernetes pods with their containers under them (-k)", async () => {
    const sys = await tk("containers");
    expect(lines(sys.stdout)[0]).toMatch(/^NODE\s+NAMESPACE\s+ID\s+IMAGE\s+PID\s+STATUS$/);
    expect(sys.stdout).toMatch(
      /\n10\.5\.0\.2\s+system\s+etcd\s+gcr\.io\/etcd-development\/etcd:\S+\s+\d+\s+RUNNING\n/,
    );
    const k = await tk("-n", "10.5.0.2", "containers", "-k");
    expect(k.stdout).toMatch(
      /\n10\.5\.0\.2\s+k8s\.io\s+kube-system\/kube-apiserver-\S+\s+registry\.k8s\.io\/pause:\S+\s+\d+\s+SANDBOX_READY\n10\.5\.0\.2\s+k8s\.io\s+└─ kube-system\/kube-apiserver-\S+:kube-apiserver:[0-9a-f]{12}\s+/,
    );
    const docs = json<{ namespace: string; status: string }>(
      await tk("-o", "json", "containers", "-k"),
    );
    expect(docs.length).toBeGreaterThan(1);
    expect(docs.every((d) => d.namespace === "k8s.io")).toBe(true);
    // A worker runs the cluster's DaemonSet pods, not the control plane's.
    const w = await tk("-n", "10.5.0.3", "containers", "-k");
    expect(w.stdout).toMatch(
      /\n10\.5\.0\.3\s+k8s\.io\s+└─ kube-system\/kube-proxy-\w+:kube-proxy:[0-9a-f]{12}\s+registry\.k8s\.io\/kube-proxy:\S+\s+\d+\s+CONTAINER_RUNNING\n/,
    );
    expect(w.stdout).not.toContain("kube-apiserver");
  });

  it("prints container stats in MB", async () => {
    const r = await tk("-n", "10.5.0.2", "stats", "-k");
    expect(lines(r.stdout)[0]).toMatch(/^NODE\s+NAMESPACE\s+ID\s+MEMORY\(MB\)\s+CPU$/);
    expect(r.stdout).toMatch(/└─ kube-system\/kube-scheduler-\S+\s+171\.66\s+41000000000\n/);
    const docs = json<{ memoryUsage: number; id: string }>(await tk("-o", "json", "stats"));
    expect(docs.find((d) => d.id === "etcd")?.memoryUsage).toBeGreaterThan(0);
  });

  it("lists processes by resident memory, talosctl's columns", async () => {
    const r = await tk("-n", "10.5.0.3", "processes");
    const [head, first] = lines(r.stdout);
    expect(head).toMatch(
      /^NODE\s+PID\s+STATE\s+THREADS\s+CPU-TIME\s+VIRTMEM\s+RESMEM\s+LABEL\s+COMMAND$/,
    );
    expect(first).toMatch(
      /^10\.5\.0\.3\s+\d+\s+S\s+\d+\s+\d+\.\d\d\s+\d+ MB\s+\d+ MB\s+\/usr\/local\/bin\/\w+$/,
    );
    const docs = json<{ pid: number; residentMemory: number }>(
      await tk("-o", "json", "ps", "--sort", "cpu"),
    );
    expect(docs.map((d) => d.pid)).toContain(1);
    const rss = json<{ residentMemory: number }>(await tk("-o", "json", "processes"));
    expect(rss.map((d) => d.residentMemory)).toEqual(
      rss.map((d) => d.residentMemory).sort((a, b) => b - a),
    );
  });

  it("prints memory in MB from /proc/meminfo", async () => {
    const r = await tk("-n", "10.5.0.3", "memory");
    const [head, row] = lines(r.stdout);
    expect(head).toMatch(/^NODE\s+TOTAL\s+USED\s+FREE\s+SHARED\s+BUFFERS\s+CACHE\s+AVAILABLE$/);
    const docs = json<{ node: string; meminfo: { memtotal: number } }>(
      await tk("-n", "10.5.0.3", "-o", "json", "memory"),
    );
    expect(docs[0]?.node).toBe("10.5.0.3");
    expect(row).toMatch(
      new RegExp(`^10\\.5\\.0\\.3\\s+${Math.floor((docs[0]?.meminfo.memtotal ?? 0) / 1024)}\\s`),
    );
  });

  it("lists mounts with sizes in GB and the percentage used", async () => {
    const r = await tk("mounts");
    expect(lines(r.stdout)[0]).toMatch(
      /^NODE\s+FILESYSTEM\s+SIZE\(GB\)\s+USED\(GB\)\s+AVAILABLE\(GB\)\s+PERCENT USED\s+MOUNTED ON$/,
    );
    expect(r.stdout).toMatch(/\n10\.5\.0\.2\s+tmpfs\s+1\.00\s+0\.00\s+1\.00\s+0\.10%\s+\/run\n/);
    const docs = json<{ mountedOn: string }>(await tk("-o", "json", "mounts"));
    expect(docs.map((d) => d.mountedOn)).toContain("/var");
  });

  it("prints the node's time against its NTP server, and names the node when the server fails", async () => {
    const r = await tk("-n", "10.5.0.2,10.5.0.3", "time");
    expect(lines(r.stdout)[0]).toMatch(/^NODE\s+NTP-SERVER\s+NODE-TIME\s+NTP-SERVER-TIME$/);
    expect(lines(r.stdout)).toHaveLength(3);
    expect(r.stdout).toMatch(/\n10\.5\.0\.3\s+time\.cloudflare\.com\s+\d{4}-\d\d-\d\dT/);
    expect(json(await tk("-o", "json", "time", "--check", "pool.ntp.org"))).toMatchObject([
      { node: "10.5.0.2", server: "pool.ntp.org" },
    ]);
    expectNodeFailure(await tk("time", "--check", "ntp.invalid"), "10.5.0.2", /no such host/);
  });
});

describe("read and ls", () => {
  it("reads a file to stdout, and names the node and path when it is missing", async () => {
    // Read needs os:admin, as on Talos.
    const admin = await cluster.files.write("admin", { roles: ["os:admin"], nodes: ["10.5.0.2"] });
    const read = (...args: string[]) => runTaloskitMain(["--talosconfig", admin, ...args]);
    const r = await read("-n", "10.5.0.3", "read", "/proc/sys/kernel/random/boot_id");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`${cluster.sim.node("10.5.0.3").state.bootId}\n`);
    expect(json(await read("-o", "json", "read", "/proc/sys/kernel/random/boot_id"))).toEqual([
      {
        content: `${cluster.sim.node("10.5.0.2").state.bootId}\n`,
        node: "10.5.0.2",
        path: "/proc/sys/kernel/random/boot_id",
      },
    ]);
    expectNodeFailure(
      await read("-n", "10.5.0.3", "read", "/no/such"),
      "10.5.0.3",
      /open \/no\/such: no such file or directory/,
    );
    expectNodeFailure(
      await tk("read", "/proc/sys/kernel/random/boot_id"),
      "10.5.0.2",
      /needs role os:admin/,
    );
  });

  it("lists a directory, long and recursive, to a depth", async () => {
    const r = await tk("ls", "/proc/sys");
    expect(lines(r.stdout)).toEqual(["NODE       NAME", "10.5.0.2   .", "10.5.0.2   kernel"]);
    const l = await tk("-n", "10.5.0.3", "ls", "-l", "-r", "/proc");
    expect(lines(l.stdout)[0]).toMatch(/^NODE\s+MODE\s+UID\s+GID\s+SIZE\(B\)\s+LASTMOD\s+NAME$/);
    expect(l.stdout).toMatch(
      /\n10\.5\.0\.3\s+drwxr-xr-x\s+0\s+0\s+4096\s+\w{3} [ \d]\d \d\d:\d\d:\d\d\s+sys\/kernel\/random\n/,
    );
    expect(l.stdout).toMatch(
      /\n10\.5\.0\.3\s+-rw-r--r--\s+0\s+0\s+37\s+.+\s+sys\/kernel\/random\/boot_id\n/,
    );
    const d = json<{ relativeName: string; isDir: boolean }>(
      await tk("-o", "json", "ls", "-d", "2", "/proc"),
    );
    expect(d.map((e) => e.relativeName)).toEqual([".", "sys", "sys/kernel"]);
    expectNodeFailure(await tk("ls", "/no/such"), "10.5.0.2", /no such file or directory/);
  });
});

describe("events", () => {
  it("streams past and new events in talosctl's columns until stopped", async () => {
    const r = await follow(
      ["-n", "10.5.0.2", "events", "--tail", "-1"],
      (o) => lines(o).length >= 3,
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const [head, ...rows] = lines(r.stdout);
    expect(head).toMatch(/^NODE\s+ID\s+EVENT\s+ACTOR\s+SOURCE\s+MESSAGE$/);
    expect(rows[0]).toMatch(/^10\.5\.0\.2\s+\S+\s+talos\/runtime\/machine\.\w+Event/);
    const j = await follow(
      ["-o", "json", "events", "--tail", "2"],
      (o) => (o.match(/^\}/gm) ?? []).length >= 2,
    );
    const docs = json<{ node: string; id: string; type: string; payload: object }>(j);
    expect(docs).toHaveLength(2);
    expect(docs[0]).toMatchObject({
      node: "10.5.0.2",
      type: expect.stringMatching(/^talos\/runtime\//),
    });
    // --since: only what came after that event.
    const since = await follow(["-o", "json", "events", "--since", docs[0]?.id ?? ""], (o) =>
      /^\}/m.test(o),
    );
    expect(json<{ id: string }>(since)[0]?.id).toBe(docs[1]?.id);
  });

  it("names an unreachable node", async () => {
    expectNodeFailure(await tk("-n", "10.5.0.88", "events"), "10.5.0.88", /unavailable|no route/);
  });
});

describe("health", () => {
  it("runs talosctl's checks on a control-plane node", async () => {
    const r = await tk("-n", "10.5.0.2", "health", "--wait-timeout", "30s");
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out[0]).toBe('discovered nodes: ["10.5.0.2","10.5.0.3"]');
    for (const check of [
      "etcd to be healthy",
      "apid to be ready",
      "kubelet to be healthy",
      "all nodes to finish boot sequence",
    ])
      expect(out).toContain(`waiting for ${check}: OK`);
    const docs = json<{ node: string; message: string }>(
      await tk(
        "-o",
        "json",
        "health",
        "--control-plane-nodes",
        "10.5.0.2",
        "--worker-nodes",
        "10.5.0.3",
      ),
    );
    expect(docs.at(-1)).toEqual({
      node: "10.5.0.2",
      message: "waiting for all nodes to finish boot sequence: OK",
    });
  });

  it("fails with one line naming the node when a check cannot pass or the node is a worker", async () => {
    expectNodeFailure(
      await tk(
        "health",
        "--wait-timeout",
        "1s",
        "--control-plane-nodes",
        "10.5.0.2",
        "--worker-nodes",
        "10.5.0.66",
      ),
      "10.5.0.66",
      /no such node/,
    );
    expectNodeFailure(await tk("-n", "10.5.0.3", "health"), "10.5.0.3", /control plane node/);
    // Ctrl-C while a check waits ends the call on the node.
    const stopped = await follow(
      [
        "health",
        "--wait-timeout",
        "10m",
        "--control-plane-nodes",
        "10.5.0.2",
        "--worker-nodes",
        "10.5.0.66",
      ],
      (o) => o.includes("10.5.0.66: no such node"),
    );
    expect(stopped.stderr).toBe("");
    expect(stopped.code).toBe(0);
  });
});

describe("get: the type's own columns, and -w", () => {
  it("prints the definition's print columns after talosctl's metadata columns", async () => {
    const r = await tk("-n", "10.5.0.2,10.5.0.3", "get", "members");
    expect(r.stderr).toBe("");
    const [head, ...rows] = lines(r.stdout);
    expect(head).toMatch(
      /^NODE\s+NAMESPACE\s+TYPE\s+ID\s+VERSION\s+HOSTNAME\s+MACHINE TYPE\s+OS\s+ADDRESSES$/,
    );
    expect(rows).toHaveLength(4);
    expect(rows).toContainEqual(
      expect.stringMatching(
        /^10\.5\.0\.3\s+cluster\s+Members\.cluster\.talos\.dev\s+talos-10-5-0-2\s+\d+\s+talos-10-5-0-2\s+controlplane\s+Talos \(v1\.14\.0\)\s+\["10\.5\.0\.2"\]$/,
      ),
    );
    const ms = await tk("get", "machinestatus");
    expect(lines(ms.stdout)).toEqual([
      expect.stringMatching(/^NODE\s+NAMESPACE\s+TYPE\s+ID\s+VERSION\s+STAGE\s+READY$/),
      expect.stringMatching(
        /^10\.5\.0\.2\s+runtime\s+MachineStatuses\.runtime\.talos\.dev\s+machine\s+\d+\s+running\s+true$/,
      ),
    ]);
    // Types whose definition has none keep talosctl's five columns.
    expect(lines((await tk("get", "pcidevices")).stdout)[0]).toMatch(
      /^NODE\s+NAMESPACE\s+TYPE\s+ID\s+VERSION$/,
    );
    expect(json(await tk("-o", "json", "get", "svc", "etcd"))).toMatchObject([
      { node: "10.5.0.2", metadata: { id: "etcd" }, spec: { running: true, healthy: true } },
    ]);
  });

  it("watches changes until stopped: the current resources (+), then updates", async () => {
    const worker = cluster.sim.node("10.5.0.3");
    const kubelet = worker.state.services.find((s) => s.id === "kubelet");
    if (!kubelet) throw new Error("no kubelet");
    let changed = false;
    try {
      const r = await follow(["-n", "10.5.0.3", "get", "svc", "-w"], (out) => {
        if (!changed && /\n\+\s+10\.5\.0\.3\s+runtime\s+\S+\s+kubelet\s/.test(out)) {
          changed = true;
          kubelet.healthy = false;
          worker.touch();
        }
        return /\n \s+10\.5\.0\.3\s+runtime\s+\S+\s+kubelet\s+\d+\s+true\s+false\n/.test(out);
      });
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("");
      expect(lines(r.stdout)[0]).toMatch(
        /^\*\s+NODE\s+NAMESPACE\s+TYPE\s+ID\s+VERSION\s+RUNNING\s+HEALTHY$/,
      );
      expect(lines(r.stdout)[1]).toMatch(
        /^\+\s+10\.5\.0\.3\s+runtime\s+Services\.v1alpha1\.talos\.dev\s+\w+\s+\d+\s+true\s+true$/,
      );
    } finally {
      kubelet.healthy = true;
      worker.touch();
    }
    const j = await follow(["-o", "json", "get", "machinestatus", "--watch"], (o) =>
      /^\}/m.test(o),
    );
    expect(json(j)).toMatchObject([
      { event: "created", node: "10.5.0.2", metadata: { id: "machine" } },
    ]);
  });

  it("names the node that cannot answer", async () => {
    const r = await tk("-n", "10.5.0.2,10.5.0.77", "get", "members");
    expect(r.stdout).toMatch(/^NODE\s/);
    expectNodeFailure(r, "10.5.0.77", /unavailable|no route/);
  });
});
