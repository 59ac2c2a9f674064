// The read-only MachineService calls talosctl uses to look inside a node:
// containers and their stats (containerd's system namespace, or the CRI pods),
// processes, mounts and directory listings (List, as `talosctl ls` walks).
// Answers follow machined's shapes: a CRI container's id is
// `<pod>:<container>:<12 hex of its containerd id>` beside its pod's sandbox,
// system containers are their own pod, List reports the root itself as ".".
import { createHash } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { status } from "../grpc.js";
import type { CallContext, Impls, Send, ServerStreamImpl, UnaryImpl } from "../handlers.js";
import type { SimNodeState } from "../state.js";

const { status: S } = grpc;
const M = "/machine.MachineService/";
/** common.ContainerDriver.CRI. */
const DRIVER_CRI = 1;
/** Go's os.ModeDir, as FileInfo.mode carries it. */
const MODE_DIR = 0x80000000;

/** What these calls read of a node. */
export interface MachineInspectHost {
  readonly state: SimNodeState;
}

interface SimContainer {
  namespace: string;
  id: string;
  podId: string;
  name: string;
  internalId: string;
  image: string;
  pid: number;
  status: string;
  memory: bigint;
  cpu: bigint;
  sandbox: boolean;
}

const hex = (s: string) => createHash("sha256").update(s).digest("hex");

/** The containers of a namespace as machined's inspectors list them. */
function containersOf(node: MachineInspectHost, namespace: string, driver: number): SimContainer[] {
  const st = node.state;
  if (namespace === "k8s.io" || driver === DRIVER_CRI) {
    // One pod per container that the node keeps CRI logs for (`<ns>/<pod>:<container>`).
    const out: SimContainer[] = [];
    let pid = 2000;
    for (const key of st.containerLogs?.keys() ?? []) {
      const [pod = key, name = "app"] = key.split(":");
      const sandboxId = hex(`${st.bootId}/${pod}`);
      const containerId = hex(`${st.bootId}/${key}`);
      out.push({
        namespace,
        id: pod,
        podId: pod,
        name: pod,
        internalId: sandboxId,
        image: "registry.k8s.io/pause:3.10",
        pid: pid++,
        status: "SANDBOX_READY",
        memory: 0n,
        cpu: 0n,
        sandbox: true,
      });
      out.push({
        namespace,
        id: `${pod}:${name}:${containerId.slice(0, 12)}`,
        podId: pod,
        name: `${pod}:${name}:${containerId.slice(0, 12)}`,
        internalId: containerId,
        image:
          name === "kube-flannel"
            ? "ghcr.io/flannel-io/flannel:v0.26.7"
            : `registry.k8s.io/${name}:${st.kubernetesVersion}`,
        pid: pid++,
        status: "CONTAINER_RUNNING",
        memory: 180_000_000n,
        cpu: 41_000_000_000n,
        sandbox: false,
      });
    }
    return out;
  }
  if (namespace !== "system") return [];
  const images: Record<string, string> = {
    apid: "ghcr.io/siderolabs/apid",
    trustd: "ghcr.io/siderolabs/trustd",
    etcd: "gcr.io/etcd-development/etcd:v3.6.5",
    kubelet: `ghcr.io/siderolabs/kubelet:${st.kubernetesVersion}`,
  };
  return st.services
    .filter((s) => s.id in images && s.state === "Running")
    .map((s, i) => ({
      namespace,
      id: s.id,
      podId: s.id,
      name: s.id,
      internalId: s.id,
      image: images[s.id] ?? s.id,
      pid: 1000 + i * 17,
      status: "RUNNING",
      memory: 60_000_000n + BigInt(i) * 10_000_000n,
      cpu: 3_000_000_000n,
      sandbox: false,
    }));
}

/** A small directory tree of the node's files (plus the synthetic ones Read serves). */
function fileTree(node: MachineInspectHost): Map<string, { size: number; dir: boolean }> {
  const st = node.state;
  const tree = new Map<string, { size: number; dir: boolean }>([["/", { size: 4096, dir: true }]]);
  const files: [string, number][] = [...st.files].map(([p, d]) => [
    p,
    typeof d === "string" ? Buffer.byteLength(d) : d.length,
  ]);
  files.push(["/proc/sys/kernel/random/boot_id", 37], ["/sim/large", st.largeFileSize]);
  for (const [p, size] of files) {
    tree.set(p, { size, dir: false });
    for (let at = p.indexOf("/", 1); at > 0; at = p.indexOf("/", at + 1))
      tree.set(p.slice(0, at), { size: 4096, dir: true });
  }
  return tree;
}

/** The depth of `path` below `root` (0 for the root itself), or -1 when outside it. */
function depthBelow(root: string, path: string): number {
  if (path === root) return 0;
  const prefix = root === "/" ? "/" : `${root}/`;
  if (!path.startsWith(prefix)) return -1;
  return path.slice(prefix.length).split("/").length;
}

/** Implementations of Containers, Stats, Processes, Mounts and List. */
export function machineInspectImpls(node: MachineInspectHost): Impls {
  const st = node.state;
  return {
    [`${M}Containers`]: ((req: { namespace: string; driver: number }) => ({
      messages: [
        {
          containers: containersOf(node, req.namespace, req.driver).map((c) => ({
            namespace: c.namespace,
            id: c.id,
            uid: "",
            internalId: c.internalId,
            image: c.image,
            pid: c.pid,
            status: c.status,
            podId: c.podId,
            name: c.name,
            networkNamespace: c.sandbox ? `/var/run/netns/cni-${c.internalId.slice(0, 8)}` : "",
          })),
        },
      ],
    })) as UnaryImpl,
    [`${M}Stats`]: ((req: { namespace: string; driver: number }) => ({
      messages: [
        {
          // machined reports containers that have metrics: sandboxes have none.
          stats: containersOf(node, req.namespace, req.driver)
            .filter((c) => !c.sandbox)
            .map((c) => ({
              namespace: c.namespace,
              id: c.id,
              memoryUsage: c.memory,
              cpuUsage: c.cpu,
              podId: c.podId,
              name: c.name,
            })),
        },
      ],
    })) as UnaryImpl,
    [`${M}Processes`]: (() => {
      const procs = [
        { pid: 1, ppid: 0, command: "machined", executable: "/sbin/init", args: "/sbin/init" },
        ...st.services
          .filter((s) => s.id !== "machined" && s.state === "Running")
          .map((s, i) => ({
            pid: 1000 + i * 17,
            ppid: 1,
            command: s.id,
            executable: `/usr/local/bin/${s.id}`,
            args: `/usr/local/bin/${s.id}`,
          })),
      ];
      return {
        messages: [
          {
            processes: procs.map((p, i) => ({
              ...p,
              state: "S",
              threads: 8 + i,
              cpuTime: 1.5 * (i + 1),
              virtualMemory: BigInt(700_000_000 + i * 1_000_000),
              residentMemory: BigInt(40_000_000 + i * 1_000_000),
              label: "",
            })),
          },
        ],
      };
    }) as UnaryImpl,
    [`${M}Mounts`]: (() => {
      const disk = BigInt(st.profile.disks[0]?.sizeBytes ?? 128 * 1024 ** 3);
      return {
        messages: [
          {
            stats: [
              { filesystem: "/dev/loop0", size: 80_000_000n, available: 0n, mountedOn: "/" },
              {
                filesystem: "tmpfs",
                size: 1_000_000_000n,
                available: 999_000_000n,
                mountedOn: "/run",
              },
              {
                filesystem: "/dev/sda4",
                size: 100_000_000n,
                available: 99_000_000n,
                mountedOn: "/system/state",
              },
              {
                filesystem: "/dev/sda5",
                size: disk - 2_000_000_000n,
                available: (disk * 9n) / 10n,
                mountedOn: "/var",
              },
            ],
          },
        ],
      };
    }) as UnaryImpl,
    [`${M}List`]: (async (
      req: { root: string; recurse: boolean; recursionDepth: number; types: number[] },
      _ctx: CallContext,
      send: Send,
    ) => {
      const root = req.root === "/" ? "/" : (req.root || "/").replace(/\/+$/, "");
      const tree = fileTree(node);
      if (!tree.has(root)) throw status(S.NOT_FOUND, `lstat ${root}: no such file or directory`);
      // Not recursing lists the root's own entries; a depth of 0 with recurse has no limit.
      const maxDepth = req.recurse ? req.recursionDepth || Number.POSITIVE_INFINITY : 1;
      const modified = BigInt(Math.floor(Date.now() / 1000));
      const entries = [...tree]
        .map(([path, f]) => ({ path, f, depth: depthBelow(root, path) }))
        .filter((e) => e.depth >= 0 && e.depth <= maxDepth)
        .filter((e) => req.types.length === 0 || req.types.includes(e.f.dir ? 1 : 0))
        .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      for (const { path, f, depth } of entries) {
        const prefix = root === "/" ? "/" : `${root}/`;
        await send({
          name: path,
          relativeName: depth === 0 ? "." : path.slice(prefix.length),
          size: BigInt(f.size),
          mode: f.dir ? MODE_DIR + 0o755 : 0o644,
          modified,
          isDir: f.dir,
          error: "",
          link: "",
          uid: 0,
          gid: 0,
          xattrs: [],
        });
      }
    }) as ServerStreamImpl,
  };
}
