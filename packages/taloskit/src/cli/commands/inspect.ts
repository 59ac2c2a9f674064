// talosctl's looks inside a node, each one call per node printed as a table:
// `containers [-k]`, `stats [-k]`, `processes`, `memory`, `mounts` and `time`.
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import type { ContainerInfo, MountStat, ProcessInfo, Stat } from "@taloskit/api/machine";
import type { Command } from "commander";
import {
  humanBytes,
  nodeCommand,
  type Plain,
  plain,
  printNodeRows,
  type StreamIO,
} from "./node-shell.js";

/** common.ContainerDriver: CONTAINERD 0, CRI 1. */
const DRIVER_CRI = 1;

/** The containerd namespace and driver of `-k`/`--use-cri`, as talosctl picks them. */
function containerScope(opts: { kubernetes?: boolean; useCri?: boolean }) {
  return {
    namespace: opts.kubernetes ? "k8s.io" : "system",
    driver: opts.kubernetes || opts.useCri ? DRIVER_CRI : 0,
  };
}

/** Adds talosctl's `-k/--kubernetes` and `-c/--use-cri`. */
function withContainerFlags(cmd: Command): Command {
  return cmd
    .option("-k, --kubernetes", "use the k8s.io containerd namespace")
    .option("-c, --use-cri", "use the CRI driver");
}

/**
 * How talosctl shows a container's ID: a Kubernetes container under its pod
 * (`└─ <id>`), its pod's sandbox as the pod's own line.
 */
function displayId(c: { id: string; podId: string }, kubernetes: boolean): string {
  return kubernetes && c.podId !== c.id ? `└─ ${c.id}` : c.id;
}

/** Sorted as talosctl sorts: by pod, the pod's own line first, then by ID. */
function byPod<T extends { namespace: string; podId: string; id: string }>(rows: T[]): T[] {
  const key = (r: T) => [r.namespace, r.podId, r.id === r.podId ? "" : r.id];
  return [...rows].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) {
      const x = ka[i] as string;
      const y = kb[i] as string;
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  });
}

type ContainerRow = Plain<ContainerInfo> & { node: string };
type StatsRow = Plain<Stat> & { node: string };

/** `taloskit containers [-k] [-c]`. */
export function containersCommand(io?: StreamIO): Command {
  const cmd = withContainerFlags(nodeCommand("containers", "list containers").alias("c"));
  return cmd.action(async (opts: { kubernetes?: boolean; useCri?: boolean }) => {
    await printNodeRows<ContainerRow>(
      cmd,
      io,
      async (services, node, signal) => {
        const reply = await services.machine.containers(containerScope(opts), {
          signal,
          timeoutMs: 60_000,
        });
        return byPod(
          reply.messages.flatMap((m) => m.containers.map((c) => ({ node, ...plain(c) }))),
        );
      },
      [
        { header: "NODE", value: (r) => r.node },
        { header: "NAMESPACE", value: (r) => r.namespace },
        { header: "ID", value: (r) => displayId(r, Boolean(opts.kubernetes)) },
        { header: "IMAGE", value: (r) => r.image },
        { header: "PID", value: (r) => r.pid },
        { header: "STATUS", value: (r) => r.status },
      ],
    );
  });
}

/** `taloskit stats [-k] [-c]`. */
export function statsCommand(io?: StreamIO): Command {
  const cmd = withContainerFlags(nodeCommand("stats", "get container stats"));
  return cmd.action(async (opts: { kubernetes?: boolean; useCri?: boolean }) => {
    await printNodeRows<StatsRow>(
      cmd,
      io,
      async (services, node, signal) => {
        const reply = await services.machine.stats(containerScope(opts), {
          signal,
          timeoutMs: 60_000,
        });
        return byPod(reply.messages.flatMap((m) => m.stats.map((c) => ({ node, ...plain(c) }))));
      },
      [
        { header: "NODE", value: (r) => r.node },
        { header: "NAMESPACE", value: (r) => r.namespace },
        { header: "ID", value: (r) => displayId(r, Boolean(opts.kubernetes)) },
        { header: "MEMORY(MB)", value: (r) => (Number(r.memoryUsage) / 1024 / 1024).toFixed(2) },
        { header: "CPU", value: (r) => r.cpuUsage },
      ],
    );
  });
}

type ProcessRow = Plain<ProcessInfo> & { node: string };

/** The command line as talosctl shows it: the executable's full path in place of argv[0]. */
function commandLine(p: ProcessRow): string {
  if (!p.executable) return p.command;
  const argv0 = p.args.split(/\s+/)[0] ?? "";
  const base = (p.executable.split(/\s+/)[0] ?? "").split("/").pop();
  return p.args && argv0 === base ? p.args.replace(argv0, p.executable) : p.args;
}

/** `taloskit processes [-s rss|cpu]`. */
export function processesCommand(io?: StreamIO): Command {
  const cmd = nodeCommand("processes", "list running processes")
    .aliases(["p", "ps"])
    .option("-s, --sort <column>", "column to sort output by [rss|cpu]", "rss");
  return cmd.action(async (opts: { sort: string }) => {
    if (opts.sort !== "rss" && opts.sort !== "cpu")
      throw new Error(`--sort must be rss or cpu, not "${opts.sort}"`);
    await printNodeRows<ProcessRow>(
      cmd,
      io,
      async (services, node, signal) => {
        const reply = await services.machine.processes({}, { signal, timeoutMs: 60_000 });
        const rows = reply.messages.flatMap((m) => m.processes.map((p) => ({ node, ...plain(p) })));
        return rows.sort((a, b) =>
          opts.sort === "cpu" ? b.cpuTime - a.cpuTime : Number(b.residentMemory - a.residentMemory),
        );
      },
      [
        { header: "NODE", value: (r) => r.node },
        { header: "PID", value: (r) => r.pid },
        { header: "STATE", value: (r) => r.state },
        { header: "THREADS", value: (r) => r.threads },
        { header: "CPU-TIME", value: (r) => r.cpuTime.toFixed(2) },
        { header: "VIRTMEM", value: (r) => humanBytes(r.virtualMemory) },
        { header: "RESMEM", value: (r) => humanBytes(r.residentMemory) },
        { header: "LABEL", value: (r) => r.label },
        { header: "COMMAND", value: commandLine },
      ],
    );
  });
}

interface MemoryRow {
  node: string;
  /** /proc/meminfo's fields, in kB. */
  meminfo: Record<string, bigint>;
}

const mb = (kb: bigint | undefined) => (kb ?? 0n) / 1024n;

/** `taloskit memory`: talosctl's columns in MB. */
export function memoryCommand(io?: StreamIO): Command {
  const cmd = nodeCommand("memory", "show memory usage").alias("m");
  return cmd.action(async () => {
    await printNodeRows<MemoryRow>(
      cmd,
      io,
      async (services, node, signal) => {
        const reply = await services.machine.memory({}, { signal, timeoutMs: 60_000 });
        return reply.messages.map((m) => {
          const info: Record<string, bigint> = {};
          for (const [k, v] of Object.entries(m.meminfo ?? {}))
            if (typeof v === "bigint") info[k] = v;
          return { node, meminfo: info };
        });
      },
      [
        { header: "NODE", value: (r) => r.node },
        { header: "TOTAL", value: (r) => mb(r.meminfo.memtotal) },
        {
          header: "USED",
          value: ({ meminfo: m }) =>
            mb((m.memtotal ?? 0n) - (m.memfree ?? 0n) - (m.cached ?? 0n) - (m.buffers ?? 0n)),
        },
        { header: "FREE", value: (r) => mb(r.meminfo.memfree) },
        { header: "SHARED", value: (r) => mb(r.meminfo.shmem) },
        { header: "BUFFERS", value: (r) => mb(r.meminfo.buffers) },
        { header: "CACHE", value: (r) => mb(r.meminfo.cached) },
        { header: "AVAILABLE", value: (r) => mb(r.meminfo.memavailable) },
      ],
    );
  });
}

type MountRow = Plain<MountStat> & { node: string };

const gb = (n: bigint) => (Number(n) * 1e-9).toFixed(2);

/** `taloskit mounts`. */
export function mountsCommand(io?: StreamIO): Command {
  const cmd = nodeCommand("mounts", "list mounts");
  return cmd.action(async () => {
    await printNodeRows<MountRow>(
      cmd,
      io,
      async (services, node, signal) => {
        const reply = await services.machine.mounts({}, { signal, timeoutMs: 60_000 });
        // talosctl leaves out what has no size (the percentage would be NaN).
        return reply.messages.flatMap((m) =>
          m.stats.filter((s) => s.size > 0n).map((s) => ({ node, ...plain(s) })),
        );
      },
      [
        { header: "NODE", value: (r) => r.node },
        { header: "FILESYSTEM", value: (r) => r.filesystem },
        { header: "SIZE(GB)", value: (r) => gb(r.size) },
        { header: "USED(GB)", value: (r) => gb(r.size - r.available) },
        { header: "AVAILABLE(GB)", value: (r) => gb(r.available) },
        {
          header: "PERCENT USED",
          value: (r) => `${(100 - (100 * Number(r.available)) / Number(r.size)).toFixed(2)}%`,
        },
        { header: "MOUNTED ON", value: (r) => r.mountedOn },
      ],
    );
  });
}

interface TimeRow {
  node: string;
  server: string;
  localtime: Date | undefined;
  remotetime: Date | undefined;
}

const dateOf = (t: Timestamp | undefined) => (t ? timestampDate(t) : undefined);

/** `taloskit time [--check SERVER]`. */
export function timeCommand(io?: StreamIO): Command {
  const cmd = nodeCommand("time", "get the node's time, against its time server").option(
    "-c, --check <server>",
    "check the time against this NTP server instead of the node's own",
  );
  return cmd.action(async (opts: { check?: string }) => {
    await printNodeRows<TimeRow>(
      cmd,
      io,
      async (services, node, signal) => {
        const time = services.time;
        const callOpts = { signal, timeoutMs: 60_000 };
        const reply = opts.check
          ? await time.timeCheck({ server: opts.check }, callOpts)
          : await time.time({}, callOpts);
        return reply.messages.map((m) => ({
          node,
          server: m.server,
          localtime: dateOf(m.localtime),
          remotetime: dateOf(m.remotetime),
        }));
      },
      [
        { header: "NODE", value: (r) => r.node },
        { header: "NTP-SERVER", value: (r) => r.server },
        { header: "NODE-TIME", value: (r) => r.localtime },
        { header: "NTP-SERVER-TIME", value: (r) => r.remotetime },
      ],
    );
  });
}
