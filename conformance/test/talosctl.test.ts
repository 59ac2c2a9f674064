// talosctl itself against the simulator: Talos v1.14.1's own client code (built
// from its module, see conformance/talosctl) runs a scripted session against a
// simulated cluster of control planes, workers and a node in maintenance mode.
// Each command must end with exit code 0 and print what it prints against a
// real node; the comment on each names the upstream behaviour it mirrors.
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TalosClient } from "@taloskit/client";
import { type ClusterSimulator, startCluster } from "@taloskit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { programBinary } from "../oracles.js";

const VERSION = "v1.14.1";
const CP1 = "10.5.0.2";
const CP2 = "10.5.0.3";
const W1 = "10.5.0.4";
const W2 = "10.5.0.5";
const MAINTENANCE = "10.5.0.6";
const CONFIGURED = [CP1, CP2, W1, W2];
const EMPTY_SCHEMATIC = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";

let sim: ClusterSimulator;
let dir: string;
let talosconfig: string;
let bin: string;

beforeAll(async () => {
  bin = programBinary("talosctl");
  sim = await startCluster({
    nodes: [
      { address: CP1, role: "controlplane", version: VERSION },
      { address: CP2, role: "controlplane", version: VERSION },
      { address: W1, role: "worker", version: VERSION },
      { address: W2, role: "worker", version: VERSION },
      { address: MAINTENANCE, maintenance: true, version: VERSION },
    ],
    rebootDelayMs: 100,
  });
  dir = mkdtempSync(join(tmpdir(), "talosctl-conformance-"));
  talosconfig = join(dir, "talosconfig");
  writeFileSync(talosconfig, sim.talosconfig({ context: "sim", nodes: [CP1] }), { mode: 0o600 });
});

afterAll(async () => {
  await sim?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** talosctl's environment: a home of its own, so nothing of the user's is read or written. */
const env = () => ({ ...process.env, HOME: dir });

/** Runs talosctl with the cluster's talosconfig and waits for it to end. */
function talosctl(args: string[], opts: { insecure?: boolean; timeoutMs?: number } = {}) {
  const full = opts.insecure ? args : ["--talosconfig", talosconfig, ...args];
  return new Promise<Run>((resolve) => {
    execFile(
      bin,
      full,
      { env: env(), timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Runs a command that succeeds, returning its standard output. */
async function ok(args: string[], opts: { insecure?: boolean; timeoutMs?: number } = {}) {
  const r = await talosctl(args, opts);
  expect(r.code, `talosctl ${args.join(" ")}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/**
 * Runs a command that streams until interrupted (get -w, events) and interrupts it
 * (as Ctrl-C does) once its output satisfies `enough`; fails after `timeoutMs`.
 */
function streamUntil(args: string[], enough: (stdout: string) => boolean, timeoutMs = 20_000) {
  return new Promise<Run>((resolve, reject) => {
    const child = spawn(bin, ["--talosconfig", talosconfig, ...args], { env: env() });
    let stdout = "";
    let stderr = "";
    let interrupted = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `talosctl ${args.join(" ")}: no output after ${timeoutMs} ms:\n${stdout}\n${stderr}`,
        ),
      );
    }, timeoutMs);
    child.stdout.on("data", (b: Buffer) => {
      stdout += b.toString();
      if (!interrupted && enough(stdout)) {
        interrupted = true;
        child.kill("SIGINT");
      }
    });
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Rows of a talosctl table (header first), split on its column gaps. */
function table(out: string): string[][] {
  return out
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => l.trim().split(/\s{2,}/));
}

/** talosctl's `-o json`: a stream of indented JSON objects, one after another. */
function jsonStream(out: string): Record<string, unknown>[] {
  return out
    .split(/\n(?=\{)/)
    .filter((s) => s.trim() !== "")
    .map((s) => JSON.parse(s) as Record<string, unknown>);
}

/** talosctl's `-o yaml`: `---`-separated documents. */
function yamlStream(out: string): Record<string, unknown>[] {
  return parseAllDocuments(out).map((d) => d.toJSON() as Record<string, unknown>);
}

describe("talosctl v1.14.1 against the simulated cluster", () => {
  it("version: the client, then one Server block per node (talosctl version)", async () => {
    const out = await ok(["version", "-n", `${CP1},${W1}`]);
    expect(out).toMatch(/^Client:\n\tTag:\s+v1\.14\.1/);
    // Fan-out is client-side, one call per node; the answers come in completion order.
    const nodes = [...out.matchAll(/\tNODE:\s+(\S+)/g)].map((m) => m[1]).sort();
    expect(nodes).toEqual([CP1, W1]);
    expect(out.match(/\tTag:\s+v1\.14\.1/g)).toHaveLength(3);
    expect(out).toContain("Enabled:     RBAC");
    // -e overrides the talosconfig's endpoints; the apid-like router proxies by node.
    const viaFlag = await ok(["version", "-e", sim.endpoint, "-n", W2]);
    expect(viaFlag).toMatch(/\tNODE:\s+10\.5\.0\.5\n/);
  });

  /** The columns talosctl adds for a type: its definition's print columns, as the node serves them. */
  async function printColumns(alias: string, node: string): Promise<string[]> {
    const client = TalosClient.connect(sim.clientOptions());
    try {
      const def = await client.resources.resolveType(alias, { node });
      return def.printColumns.map((c) => c.name.toUpperCase());
    } finally {
      client.close();
    }
  }

  // talosctl get <alias>: the table NODE NAMESPACE TYPE ID VERSION and the type's own
  // print columns, resolved through the resource definitions' aliases; -o yaml/json
  // add node, metadata and spec.
  const resources: [alias: string, namespace: string, type: string, node: string][] = [
    ["members", "cluster", "Member", CP1],
    ["addresses", "network", "AddressStatus", W1],
    ["hostname", "network", "HostnameStatus", W1],
    ["etcdmembers", "etcd", "EtcdMember", CP1],
    ["disks", "runtime", "Disk", W1],
    ["pcidevices", "hardware", "PCIDevice", CP1],
    ["services", "runtime", "Service", W1],
    ["machineconfig", "config", "MachineConfig", CP1],
    ["links", "network", "LinkStatus", W1],
    ["routes", "network", "RouteStatus", CP1],
    ["volumestatus", "runtime", "VolumeStatus", CP1],
  ];

  it.each(resources)("get %s: table, yaml and json", async (alias, namespace, type, node) => {
    const rows = table(await ok(["get", alias, "-n", node]));
    const extra = await printColumns(alias, node);
    expect(rows[0]).toEqual(["NODE", "NAMESPACE", "TYPE", "ID", "VERSION", ...extra]);
    expect(rows.length).toBeGreaterThan(1);
    for (const r of rows.slice(1)) expect(r.slice(0, 3)).toEqual([node, namespace, type]);

    const docs = yamlStream(await ok(["get", alias, "-n", node, "-o", "yaml"]));
    expect(docs).toHaveLength(rows.length - 1);
    for (const d of docs) {
      expect(d.node).toBe(node);
      expect((d.metadata as { namespace: string }).namespace).toBe(namespace);
      expect(d.spec).toBeDefined();
    }
    const objs = jsonStream(await ok(["get", alias, "-n", node, "-o", "json"]));
    expect(objs.map((o) => (o.metadata as { id: string }).id).sort()).toEqual(
      docs.map((d) => String((d.metadata as { id: string }).id)).sort(),
    );
  });

  it("get links, routes and volumestatus -o yaml: the node's link, its routes, its partitions", async () => {
    const links = yamlStream(await ok(["get", "links", "-n", W1, "-o", "yaml"]));
    const eth = links.find((d) => (d.metadata as { id: string }).id === "enp1s0")?.spec as
      | Record<string, unknown>
      | undefined;
    expect(eth).toMatchObject({ type: "ether", operationalState: "up", linkState: true });
    expect(String(eth?.hardwareAddr)).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    const routes = yamlStream(await ok(["get", "routes", "-n", CP1, "-o", "yaml"]));
    const ids = routes.map((d) => String((d.metadata as { id: string }).id));
    expect(ids).toContain("inet4/10.5.0.1//1024");
    expect(ids).toContain("inet4//10.5.0.0/24/1024");
    const vols = yamlStream(await ok(["get", "volumestatus", "-n", CP1, "-o", "yaml"]));
    const state = vols.find((d) => (d.metadata as { id: string }).id === "STATE")?.spec;
    expect(state).toMatchObject({ phase: "ready", type: "partition", filesystem: "xfs" });
  });

  it("get members: every configured node is a member, with its role and OS", async () => {
    const docs = yamlStream(await ok(["get", "members", "-n", CP1, "-o", "yaml"]));
    const specs = docs.map((d) => d.spec as Record<string, unknown>);
    expect(specs.map((s) => (s.addresses as string[])[0]).sort()).toEqual(CONFIGURED);
    expect(specs.find((s) => (s.addresses as string[])[0] === W1)?.machineType).toBe("worker");
    expect(specs[0]?.operatingSystem).toBe(`Talos (${VERSION})`);
  });

  it("get machineconfig -o yaml: the config document the node runs", async () => {
    const [doc] = yamlStream(await ok(["get", "machineconfig", "-n", W1, "-o", "yaml"]));
    // Talos marshals the spec as the raw config text: one string holding every document.
    expect(typeof doc?.spec).toBe("string");
    expect(String(doc?.spec)).toContain("type: worker");
    expect(String(doc?.spec)).toContain("kind: HostnameConfig");
  });

  it("get -w: the bootstrap contents as created (+) events, until interrupted", async () => {
    // talosctl get -w prints a `*` column; COSI's bootstrap sends every resource as created.
    const r = await streamUntil(
      ["get", "members", "-w", "-n", CP1],
      (out) => table(out).length > CONFIGURED.length,
    );
    const rows = table(r.stdout);
    const extra = await printColumns("members", CP1);
    expect(extra.length).toBeGreaterThan(0);
    expect(rows[0]).toEqual(["NODE", "*", "NAMESPACE", "TYPE", "ID", "VERSION", ...extra]);
    expect(rows.slice(1).map((row) => row[1])).toEqual(CONFIGURED.map(() => "+"));
    expect(
      rows
        .slice(1)
        .map((row) => row[4])
        .sort(),
    ).toEqual(CONFIGURED.map((a) => `talos-${a.replaceAll(".", "-")}`).sort());
    // Interrupted by the signal, not by an error of the node.
    expect(r.stderr).not.toMatch(/error from node|NotFound|Unimplemented/);
  });

  it("logs <service> --tail: the last lines, each led by its node", async () => {
    const out = await ok(["logs", "kubelet", "--tail", "1", "-n", W1]);
    expect(out.trimEnd().split("\n")).toEqual([`${W1}: [talos] kubelet started`]);
    const all = await ok(["logs", "apid", "-n", CP1]);
    expect(all.trimEnd().split("\n")).toHaveLength(2);
  });

  it("logs -k <container>: a CRI container's lines (namespace k8s.io)", async () => {
    const host = `talos-${CP1.replaceAll(".", "-")}`;
    const out = await ok([
      "logs",
      "-k",
      `kube-system/kube-apiserver-${host}:kube-apiserver`,
      "--tail",
      "1",
      "-n",
      CP1,
    ]);
    expect(out).toMatch(new RegExp(`^${CP1}: I0801 .*kube-apiserver serving\\n$`));
  });

  it("dmesg: kernel records as facility, level, time and message", async () => {
    const out = await ok(["dmesg", "-n", CP1]);
    const lines = out.trimEnd().split("\n");
    expect(lines[0]).toMatch(new RegExp(`^${CP1}: kern: +notice: \\[.+\\]: Linux version`));
    expect(lines.every((l) => l.startsWith(`${CP1}: kern:`))).toBe(true);
  });

  it("events --tail: the last events with their type URLs, until interrupted", async () => {
    const r = await streamUntil(["events", "--tail", "3", "-n", CP1], (out) => {
      return (out.match(/talos\/runtime\/machine\./g) ?? []).length >= 3;
    });
    expect(r.stdout.split("\n")[0]).toMatch(/^NODE\s+ID\s+EVENT\s+ACTOR\s+SOURCE\s+MESSAGE/);
    // A node that has finished booting: the last event is its ready machine status.
    expect(r.stdout).toContain("talos/runtime/machine.MachineStatusEvent");
    expect(r.stdout).toContain("ready: true, unmet conditions: []");
  });

  it("services and service <id>: states and health", async () => {
    const rows = table(await ok(["services", "-n", CP1]));
    expect(rows[0]).toEqual(["NODE", "SERVICE", "STATE", "HEALTH", "LAST CHANGE", "LAST EVENT"]);
    const etcd = rows.find((r) => r[1] === "etcd");
    expect(etcd?.slice(2, 4)).toEqual(["Running", "OK"]);
    const workerServices = table(await ok(["services", "-n", W1])).map((r) => r[1]);
    expect(workerServices).toContain("kubelet");
    expect(workerServices).not.toContain("etcd");
    const one = await ok(["service", "etcd", "-n", CP1]);
    expect(one).toMatch(/^NODE\s+10\.5\.0\.2\nID\s+etcd\nSTATE\s+Running\nHEALTH\s+OK\n/);
  });

  it("containers and stats: system containers, and CRI pods with -k", async () => {
    const sys = table(await ok(["containers", "-n", CP1]));
    expect(sys[0]).toEqual(["NODE", "NAMESPACE", "ID", "IMAGE", "PID", "STATUS"]);
    expect(sys.slice(1).map((r) => r[2])).toEqual(expect.arrayContaining(["apid", "etcd"]));
    expect(sys.slice(1).every((r) => r[1] === "system" && r[5] === "RUNNING")).toBe(true);
    // Containers sit under their pod's sandbox, drawn with └─ (talosctl containers -k).
    const k8s = await ok(["containers", "-k", "-n", CP1]);
    expect(k8s).toMatch(
      /k8s\.io\s+kube-system\/kube-apiserver-talos-10-5-0-2\s+\S+\s+\d+\s+SANDBOX_READY/,
    );
    expect(k8s).toMatch(
      /k8s\.io\s+└─ kube-system\/kube-apiserver-talos-10-5-0-2:kube-apiserver:[0-9a-f]{12}\s+\S+\s+\d+\s+CONTAINER_RUNNING/,
    );
    const stats = table(await ok(["stats", "-n", CP1]));
    expect(stats[0]).toEqual(["NODE", "NAMESPACE", "ID", "MEMORY(MB)", "CPU"]);
    expect(stats.length).toBe(sys.length);
    expect(await ok(["stats", "-k", "-n", CP1])).toContain("└─ kube-system/kube-scheduler");
  });

  it("processes, memory and mounts", async () => {
    const ps = table(await ok(["processes", "-n", W1]));
    expect(ps[0]).toEqual([
      "NODE",
      "PID",
      "STATE",
      "THREADS",
      "CPU-TIME",
      "VIRTMEM",
      "RESMEM",
      "LABEL",
      "COMMAND",
    ]);
    expect(ps.some((r) => r[1] === "1")).toBe(true);
    const mem = table(await ok(["memory", "-n", W1]));
    expect(mem[0]).toEqual([
      "NODE",
      "TOTAL",
      "USED",
      "FREE",
      "SHARED",
      "BUFFERS",
      "CACHE",
      "AVAILABLE",
    ]);
    expect(Number(mem[1]?.[1])).toBeGreaterThan(0);
    const mounts = table(await ok(["mounts", "-n", W1]));
    expect(mounts[0]?.[1]).toBe("FILESYSTEM");
    expect(mounts.slice(1).map((r) => r.at(-1))).toEqual(expect.arrayContaining(["/", "/var"]));
  });

  it("etcd members, status and snapshot", async () => {
    const members = table(await ok(["etcd", "members", "-n", CP1]));
    expect(members[0]).toEqual(["NODE", "ID", "HOSTNAME", "PEER URLS", "CLIENT URLS", "LEARNER"]);
    expect(
      members
        .slice(1)
        .map((r) => r[2])
        .sort(),
    ).toEqual(["talos-10-5-0-2", "talos-10-5-0-3"]);
    const status = table(await ok(["etcd", "status", "-n", `${CP1},${CP2}`]));
    expect(status).toHaveLength(3);
    // The snapshot is checked (trailing SHA-256) and opened by etcdutl before talosctl reports it.
    const file = join(dir, "etcd.snapshot");
    const out = await ok(["etcd", "snapshot", file, "-n", CP1]);
    expect(out).toContain(`etcd snapshot saved to "${file}"`);
    expect(out).toMatch(
      /snapshot info: hash [0-9a-f]{8}, revision \d+, total keys \d+, total size \d+/,
    );
    expect(statSync(file).size).toBeGreaterThan(0);
  });

  it("health: the server-side checks pass on a healthy cluster", async () => {
    // talosctl health (server-side, through ClusterService.HealthCheck) with the cluster's nodes.
    // --server=false runs the checks in talosctl itself, which go on to the Kubernetes API
    // (nodes, pods) that a simulator of Talos alone does not serve.
    const r = await talosctl(
      [
        "health",
        "-n",
        CP1,
        "--control-plane-nodes",
        `${CP1},${CP2}`,
        "--worker-nodes",
        `${W1},${W2}`,
        "--wait-timeout",
        "1m",
      ],
      { timeoutMs: 90_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr + r.stdout).toContain("waiting for etcd to be healthy: OK");
    expect(r.stderr + r.stdout).toContain("waiting for all nodes to finish boot sequence: OK");
  });

  it("read, ls and cp", async () => {
    expect(await ok(["read", "/etc/hostname", "-n", W1])).toBe("talos-10-5-0-4\n");
    const ls = await ok(["ls", "/etc", "-n", W1]);
    expect(
      ls
        .trimEnd()
        .split("\n")
        .map((l) => l.trim().split(/\s+/).at(-1)),
    ).toEqual([".", "hostname", "os-release"]);
    const long = table(await ok(["ls", "-l", "/", "-n", W1]));
    expect(long[0]).toEqual(["NODE", "MODE", "UID", "GID", "SIZE(B)", "LASTMOD", "LABEL", "NAME"]);
    expect(long.find((r) => r.at(-1) === "etc")?.[1]).toBe("drwxr-xr-x");
    const into = join(dir, "copied");
    await ok(["cp", "/etc", into, "-n", W1]);
    expect(readdirSync(join(into, "etc")).sort()).toEqual(["hostname", "os-release"]);
    expect(readFileSync(join(into, "etc", "hostname"), "utf8")).toBe("talos-10-5-0-4\n");
  });

  it("kubeconfig: a kubeconfig talosctl accepts as Talos-generated", async () => {
    const file = join(dir, "kubeconfig");
    await ok(["kubeconfig", file, "-n", CP1]);
    const kc = yamlStream(readFileSync(file, "utf8"))[0] as Record<string, unknown>;
    expect(kc["current-context"]).toBe("admin@sim");
    expect(JSON.stringify(kc.users)).toContain("client-certificate-data");
  });

  it("apply-config: --dry-run and each mode talosctl offers", async () => {
    const file = join(dir, "worker.yaml");
    writeFileSync(file, sim.node(W1).state.config);
    const stderrOf = async (args: string[]) => {
      const r = await talosctl(args);
      expect(r.code, r.stderr).toBe(0);
      return r.stderr + r.stdout;
    };
    // talosctl prints the node's answer (the apply summary) on stderr.
    const dry = await stderrOf(["apply-config", "-f", file, "--dry-run", "-n", W1]);
    expect(dry).toContain("Dry run summary:");
    expect(dry).toContain("Applied configuration without a reboot (skipped in dry-run).");
    expect(await stderrOf(["apply-config", "-f", file, "--mode", "auto", "-n", W1])).toContain(
      "Applied configuration without a reboot",
    );
    expect(await stderrOf(["apply-config", "-f", file, "--mode", "no-reboot", "-n", W1])).toContain(
      "Applied configuration without a reboot",
    );
    expect(await stderrOf(["apply-config", "-f", file, "--mode", "staged", "-n", W1])).toContain(
      "Staged configuration to be applied after the next reboot",
    );
    expect(
      await stderrOf(["apply-config", "-f", file, "--mode", "try", "--timeout", "1m", "-n", W1]),
    ).toContain("will be automatically reverted back in 1m0s");
  });

  it("upgrade --image: pull, LifecycleService.Upgrade, reboot, back on the new version", async () => {
    const image = `factory.talos.dev/metal-installer/${EMPTY_SCHEMATIC}:v1.14.2`;
    const r = await talosctl(
      ["upgrade", "--image", image, "--drain=false", "--progress=plain", "-n", W2],
      { timeoutMs: 120_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout + r.stderr;
    expect(out).toContain(`${W2}: pulled image ${image}`);
    expect(out).toContain(`${W2}: Exit code: 0`);
    expect(out).toContain("post check passed");
    expect(await ok(["version", "-n", W2])).toMatch(/\tTag:\s+v1\.14\.2/);
  });

  it("reboot --wait: the tracker sees the node go down and come back with a new boot ID", async () => {
    const before = await ok(["read", "/proc/sys/kernel/random/boot_id", "-n", W1]);
    const r = await talosctl(["reboot", "--wait", "--progress=plain", "-n", W1], {
      timeoutMs: 120_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain("post check passed");
    const after = await ok(["read", "/proc/sys/kernel/random/boot_id", "-n", W1]);
    expect(after).not.toBe(before);
  });

  it("maintenance mode: --insecure straight to the node, no client certificate", async () => {
    const node = sim.node(MAINTENANCE);
    const version = await ok(["version", "--insecure", "-n", node.endpoint], { insecure: true });
    expect(version).toMatch(/Server:\n\tNODE:\s+127\.0\.0\.1:\d+\n\tTag:\s+v1\.14\.1/);
    const [status] = yamlStream(
      await ok(["get", "machinestatus", "--insecure", "-n", node.endpoint, "-o", "yaml"], {
        insecure: true,
      }),
    );
    expect((status?.spec as { stage?: string } | undefined)?.stage).toBe("maintenance");
    const disks = table(
      await ok(["get", "disks", "--insecure", "-n", node.endpoint], { insecure: true }),
    );
    expect(disks.length).toBeGreaterThan(1);
    // Pinning the maintenance certificate by its SPKI fingerprint works as well.
    const pinned = await ok(
      [
        "version",
        "--insecure",
        "--cert-fingerprint",
        node.maintenanceFingerprint ?? "",
        "-n",
        node.endpoint,
      ],
      { insecure: true },
    );
    expect(pinned).toContain("Tag:         v1.14.1");
  });
});
