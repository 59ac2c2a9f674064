// The services a simulated node serves beside MachineService, ImageService,
// LifecycleService and COSI: time, storage, inspect, cluster health, debug
// containers, LVM and MD; and the client-streaming uploads (EtcdRecover,
// ImageService.Import), which record a checksum of what arrived and leave
// nothing behind when the upload is cut off.
import { createHash } from "node:crypto";
import type { DescService } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { ClusterService } from "@taloskit/api/cluster";
import { DependencyEdgeType, InspectService } from "@taloskit/api/inspect";
import { DebugService, LVMService, MDService } from "@taloskit/api/machine";
import { Disk_DiskType, StorageService } from "@taloskit/api/storage";
import { TimeService } from "@taloskit/api/time";
import { status } from "./grpc.js";
import type {
  BidiImpl,
  CallContext,
  ClientStreamImpl,
  Impl,
  Send,
  ServerStreamImpl,
  SimNodeImpl,
  UnaryImpl,
} from "./node.js";
import { typesFor } from "./resources.js";
import { inspectImpls } from "./services-inspect.js";
import { durationMs, sleep, timestamp } from "./util.js";

const { status: S } = grpc;

/** Services registered by every simulated node in addition to the core ones. */
export const EXTRA_SERVICES: DescService[] = [
  TimeService,
  StorageService,
  InspectService,
  ClusterService,
  DebugService,
  LVMService,
  MDService,
];

/** One upload that reached its end and was applied on the node. */
export interface SimUpload {
  rpc: "EtcdRecover" | "Import";
  bytes: number;
  /** Hex SHA-256 of the uploaded bytes. */
  sha256: string;
  /** The image name reported by Import. */
  image?: string;
}

/** Uploads seen by a node. */
export interface SimUploads {
  /** Uploads that completed and were applied, in order. */
  readonly completed: readonly SimUpload[];
  /** Bytes received so far by all uploads, including unfinished and cancelled ones. */
  readonly bytesReceived: number;
  /** Uploads that started but were cancelled or failed: nothing of them was kept. */
  readonly discarded: number;
}

/** The time server a node asks when the request names none (Talos's default). */
const DEFAULT_TIME_SERVER = "time.cloudflare.com";
/** How often HealthCheck re-runs a failing check. */
const HEALTH_POLL_MS = 20;

interface Extra {
  completed: SimUpload[];
  bytesReceived: number;
  discarded: number;
}

const extras = new WeakMap<SimNodeImpl, Extra>();

function extraOf(node: SimNodeImpl): Extra {
  let e = extras.get(node);
  if (!e) {
    e = { completed: [], bytesReceived: 0, discarded: 0 };
    extras.set(node, e);
  }
  return e;
}

/** What a node received by client-streaming uploads. */
export function uploadsOf(node: SimNodeImpl): SimUploads {
  const e = extraOf(node);
  return {
    completed: [...e.completed],
    bytesReceived: e.bytesReceived,
    discarded: e.discarded,
  };
}

/**
 * Calls that the Talos role table opens to os:reader only so that they work
 * in maintenance mode: on a configured node they need os:admin.
 */
function requireAdminUnlessMaintenance(node: SimNodeImpl, ctx: CallContext): void {
  if (!node.state.maintenance && !ctx.roles.has("os:admin"))
    throw status(S.PERMISSION_DENIED, "not authorized");
}

/**
 * Reads an upload to its end. Only a stream that ended normally while the
 * call is still alive counts: a cancelled call throws, so the caller applies
 * nothing.
 */
async function receive(
  node: SimNodeImpl,
  ctx: CallContext,
  messages: AsyncIterable<Uint8Array | undefined>,
): Promise<{ bytes: number; sha256: string }> {
  const e = extraOf(node);
  const hash = createHash("sha256");
  let bytes = 0;
  try {
    for await (const chunk of messages) {
      if (ctx.signal.aborted) break;
      if (!chunk) continue;
      hash.update(chunk);
      bytes += chunk.length;
      e.bytesReceived += chunk.length;
    }
    // grpc-js may end the request stream before it reports the cancellation.
    await new Promise((r) => setImmediate(r));
    if (ctx.signal.aborted) throw status(S.CANCELLED, "upload cancelled by the client");
  } catch (err) {
    e.discarded++;
    throw err;
  }
  return { bytes, sha256: hash.digest("hex") };
}

/** Image name for an imported tarball, derived from its content so that equal uploads get equal names. */
function importedName(sha256: string): string {
  return `import.sim.local/image@sha256:${sha256}`;
}

interface HealthTarget {
  address: string;
  node: SimNodeImpl | undefined;
}

type Check = { name: string; run: () => string | undefined };

function healthChecks(controlPlanes: HealthTarget[], all: HealthTarget[]): Check[] {
  const up = (t: HealthTarget) => {
    if (!t.node) return `${t.address}: no such node`;
    if (t.node.isDown || t.node.faults.unreachable)
      return `${t.address}: rpc error: code = Unavailable desc = connection refused`;
    return undefined;
  };
  const first = (
    ts: HealthTarget[],
    f: (t: HealthTarget & { node: SimNodeImpl }) => string | undefined,
  ) => {
    for (const t of ts) {
      const down = up(t);
      if (down) return down;
      const why = f(t as HealthTarget & { node: SimNodeImpl });
      if (why) return why;
    }
    return undefined;
  };
  return [
    {
      name: "etcd to be healthy",
      run: () =>
        first(controlPlanes, ({ address, node }) => {
          const svc = node.state.services.find((s) => s.id === "etcd");
          if (!node.state.etcd || !svc) return `${address}: service "etcd" not registered`;
          if (node.faults.etcdUnhealthy || !node.state.etcd.healthy || !svc.healthy)
            return `${address}: service "etcd" not healthy`;
          return undefined;
        }),
    },
    {
      name: "etcd members to be consistent across nodes",
      run: () => {
        const lists = new Map<string, string>();
        const why = first(controlPlanes, ({ address, node }) => {
          const ids = node
            .peers()
            .filter((p) => p.state.etcd)
            .map((p) => p.state.etcd?.id.toString(16))
            .sort()
            .join(",");
          lists.set(address, ids);
          return undefined;
        });
        if (why) return why;
        return new Set(lists.values()).size > 1 ? "etcd members differ between nodes" : undefined;
      },
    },
    {
      name: "etcd members to be control plane nodes",
      run: () => {
        const cps = new Set(controlPlanes.map((t) => t.node?.state.hostname));
        for (const t of controlPlanes)
          for (const p of t.node?.peers() ?? [])
            if (p.state.etcd && !cps.has(p.state.etcd.hostname))
              return `etcd member ${p.state.etcd.hostname} is not a control plane node`;
        return undefined;
      },
    },
    { name: "apid to be ready", run: () => first(all, () => undefined) },
    {
      name: "all nodes memory sizes",
      run: () =>
        first(all, ({ address, node }) => {
          const mib = node.state.profile.memoryModules.reduce((a, m) => a + m.sizeMiB, 0);
          const min = node.state.role === "controlplane" ? 1792 : 922;
          return mib < min
            ? `${address}: memory size is ${mib} MiB, less than ${min} MiB`
            : undefined;
        }),
    },
    {
      name: "kubelet to be healthy",
      run: () =>
        first(controlPlanes, ({ address, node }) => {
          const svc = node.state.services.find((s) => s.id === "kubelet");
          return svc && !svc.healthy ? `${address}: service "kubelet" not healthy` : undefined;
        }),
    },
    {
      name: "all nodes to finish boot sequence",
      run: () =>
        first(all, ({ address, node }) =>
          node.state.stage !== "running" || !node.state.ready
            ? `${address}: stage is ${node.state.stage}, ready ${node.state.ready}`
            : undefined,
        ),
    },
  ];
}

/** Simulated output of a few commands in a debug container. */
async function runDebug(
  args: string[],
  input: AsyncIterator<{ request: { case: string | undefined; value?: unknown } }>,
  send: Send,
  signal: AbortSignal,
): Promise<number> {
  const out = (text: string | Uint8Array) =>
    send({
      resp: {
        case: "stdoutData",
        value: typeof text === "string" ? Buffer.from(text) : text,
      },
    });
  const [cmd, ...rest] = args;
  switch (cmd) {
    case undefined:
    case "cat":
      // Echoes stdin until the client closes it or sends a signal.
      for (;;) {
        if (signal.aborted) return 130;
        const r = await input.next();
        if (r.done) return 0;
        const req = r.value.request;
        if (req.case === "stdinData") await out(req.value as Uint8Array);
        else if (req.case === "signal") return 128 + Number(req.value);
      }
    case "echo":
      await out(`${rest.join(" ")}\n`);
      return 0;
    case "true":
      return 0;
    case "false":
      return 1;
    case "exit":
      return Number(rest[0] ?? 0) & 0xff;
    default:
      await out(`sh: ${cmd}: not found\n`);
      return 127;
  }
}

/** Implementations of the extra services and of the uploads, keyed by gRPC path. */
export function extraImpls(node: SimNodeImpl): Record<string, Impl> {
  const st = node.state;
  const M = "/machine.MachineService/";
  const controlPlaneOnly = () => {
    if (st.role !== "controlplane" || !st.etcd)
      throw status(S.FAILED_PRECONDITION, "etcd is not running on this node");
  };
  return {
    ...inspectImpls(node),
    "/time.TimeService/Time": (() => {
      const now = Date.now();
      return {
        messages: [
          { server: DEFAULT_TIME_SERVER, localtime: timestamp(now), remotetime: timestamp(now) },
        ],
      };
    }) as UnaryImpl,
    "/time.TimeService/TimeCheck": ((req: { server: string }) => {
      const server = req.server || DEFAULT_TIME_SERVER;
      // ".invalid" never resolves (RFC 2606): a way for tests to reach the failure path.
      if (server.endsWith(".invalid") || /\s/.test(server))
        throw status(
          S.INTERNAL,
          `failed to query time server ${server}: lookup ${server}: no such host`,
        );
      const now = Date.now();
      return { messages: [{ server, localtime: timestamp(now), remotetime: timestamp(now) }] };
    }) as UnaryImpl,

    "/storage.StorageService/Disks": (() => ({
      messages: [
        {
          disks: st.profile.disks.map((d, i) => ({
            size: BigInt(d.sizeBytes),
            model: d.model,
            deviceName: `/dev/${d.id}`,
            name: d.id,
            serial: d.serial,
            type:
              d.transport === "nvme"
                ? Disk_DiskType.NVME
                : d.rotational
                  ? Disk_DiskType.HDD
                  : Disk_DiskType.SSD,
            subsystem: d.transport === "nvme" ? "/sys/class/nvme" : "/sys/class/block",
            systemDisk: !st.maintenance && i === 0,
            readonly: false,
          })),
        },
      ],
    })) as UnaryImpl,
    "/storage.StorageService/BlockDeviceWipe": ((
      req: { devices: { device: string; skipVolumeCheck: boolean }[] },
      ctx: CallContext,
    ) => {
      requireAdminUnlessMaintenance(node, ctx);
      if (req.devices.length === 0)
        throw status(S.INVALID_ARGUMENT, "at least one device must be given");
      for (const d of req.devices) {
        const name = d.device.replace(/^\/dev\//, "");
        const i = st.profile.disks.findIndex((x) => x.id === name);
        if (i < 0) throw status(S.NOT_FOUND, `blockdevice ${JSON.stringify(d.device)} not found`);
        if (!st.maintenance && i === 0 && !d.skipVolumeCheck)
          throw status(
            S.FAILED_PRECONDITION,
            `blockdevice ${JSON.stringify(d.device)} is in use by volume "EPHEMERAL"`,
          );
      }
      return { messages: [{}] };
    }) as UnaryImpl,

    "/inspect.InspectService/ControllerRuntimeDependencies": (() => {
      const edges = typesFor(st.version)
        .filter((t) => t.namespace !== "meta")
        .map((t) => {
          const [kind, family] = t.type.split(".");
          return {
            controllerName: `${family}.${(kind ?? "").replace(/s$/, "")}Controller`,
            edgeType: DependencyEdgeType.OUTPUT_EXCLUSIVE,
            resourceNamespace: t.namespace,
            resourceType: t.type,
          };
        });
      // Most controllers read the machine config.
      const inputs = [...new Set(edges.map((e) => e.controllerName))].map((controllerName) => ({
        controllerName,
        edgeType: DependencyEdgeType.INPUT_WEAK,
        resourceNamespace: "config",
        resourceType: "MachineConfigs.config.talos.dev",
        resourceId: "v1alpha1",
      }));
      return { messages: [{ edges: [...edges, ...inputs] }] };
    }) as UnaryImpl,

    "/cluster.ClusterService/HealthCheck": (async (
      req: {
        waitTimeout?: { seconds: bigint; nanos: number };
        clusterInfo?: { controlPlaneNodes: string[]; workerNodes: string[] };
      },
      ctx: CallContext,
      send: Send,
    ) => {
      if (st.role !== "controlplane")
        throw status(S.FAILED_PRECONDITION, "health check must be run on a control plane node");
      const peers = node.peers().filter((p) => !p.state.maintenance);
      const find = (address: string): HealthTarget => ({
        address,
        node: peers.find((p) => p.address === address),
      });
      const info = req.clusterInfo;
      const given = (info?.controlPlaneNodes.length ?? 0) + (info?.workerNodes.length ?? 0) > 0;
      const cps = given
        ? (info?.controlPlaneNodes ?? []).map(find)
        : peers.filter((p) => p.state.role === "controlplane").map((p) => find(p.address));
      const workers = given
        ? (info?.workerNodes ?? []).map(find)
        : peers.filter((p) => p.state.role === "worker").map((p) => find(p.address));
      const all = [...cps, ...workers];
      const wt = req.waitTimeout;
      const waitMs = wt ? durationMs(wt) : 20 * 60_000;
      const deadline = Date.now() + waitMs;
      const msg = (message: string) => send({ message });
      await msg(`discovered nodes: ${JSON.stringify(all.map((t) => t.address))}`);
      for (const check of healthChecks(cps, all)) {
        await msg(`waiting for ${check.name}`);
        let last: string | undefined;
        for (;;) {
          const why = check.run();
          if (!why) break;
          if (why !== last) await msg(`waiting for ${check.name}: ${why}`);
          last = why;
          if (Date.now() >= deadline || ctx.signal.aborted)
            throw status(S.DEADLINE_EXCEEDED, `${check.name}: ${why}`);
          await sleep(Math.min(HEALTH_POLL_MS, Math.max(1, deadline - Date.now())), ctx.signal);
        }
        await msg(`waiting for ${check.name}: OK`);
      }
    }) as ServerStreamImpl,

    "/machine.DebugService/ContainerRun": (async (
      reqs: AsyncIterable<{ request: { case: string | undefined; value?: unknown } }>,
      ctx: CallContext,
      send: Send,
    ) => {
      const it = reqs[Symbol.asyncIterator]();
      const first = await it.next();
      const spec =
        !first.done && first.value.request.case === "spec"
          ? (first.value.request.value as { imageName: string; args: string[] })
          : undefined;
      if (!spec) throw status(S.INVALID_ARGUMENT, "the first message must be the container spec");
      if (!spec.imageName) throw status(S.INVALID_ARGUMENT, "image name is required");
      if (!st.images.has(spec.imageName))
        throw status(S.NOT_FOUND, `image ${JSON.stringify(spec.imageName)} not found`);
      const code = await runDebug(spec.args, it, send, ctx.signal);
      await send({ resp: { case: "exitCode", value: code } });
    }) as BidiImpl,

    "/machine.LVMService/LogicalVolumeRemove": ((
      req: { volumeGroup: string; logicalVolume: string },
      ctx: CallContext,
    ) => {
      requireAdminUnlessMaintenance(node, ctx);
      if (!req.volumeGroup || !req.logicalVolume)
        throw status(S.INVALID_ARGUMENT, "volume group and logical volume are required");
      throw status(S.NOT_FOUND, `volume group ${JSON.stringify(req.volumeGroup)} not found`);
    }) as UnaryImpl,
    "/machine.LVMService/VolumeGroupRemove": ((req: { volumeGroup: string }, ctx: CallContext) => {
      requireAdminUnlessMaintenance(node, ctx);
      if (!req.volumeGroup) throw status(S.INVALID_ARGUMENT, "volume group is required");
      throw status(S.NOT_FOUND, `volume group ${JSON.stringify(req.volumeGroup)} not found`);
    }) as UnaryImpl,
    "/machine.LVMService/PhysicalVolumeRemove": ((req: { device: string }, ctx: CallContext) => {
      requireAdminUnlessMaintenance(node, ctx);
      if (!req.device) throw status(S.INVALID_ARGUMENT, "device is required");
      throw status(S.NOT_FOUND, `physical volume ${JSON.stringify(req.device)} not found`);
    }) as UnaryImpl,
    "/machine.MDService/Destroy": ((req: { device: string }, ctx: CallContext) => {
      requireAdminUnlessMaintenance(node, ctx);
      if (!req.device) throw status(S.INVALID_ARGUMENT, "device is required");
      throw status(S.NOT_FOUND, `md array ${JSON.stringify(req.device)} not found`);
    }) as UnaryImpl,

    [`${M}EtcdRecover`]: (async (reqs: AsyncIterable<{ bytes: Uint8Array }>, ctx: CallContext) => {
      controlPlaneOnly();
      const got = await receive(
        node,
        ctx,
        (async function* () {
          for await (const d of reqs) yield d.bytes;
        })(),
      );
      if (got.bytes === 0) throw status(S.INVALID_ARGUMENT, "the etcd snapshot is empty");
      extraOf(node).completed.push({ rpc: "EtcdRecover", ...got });
      return { messages: [{}] };
    }) as ClientStreamImpl,
    "/machine.ImageService/Import": (async (
      reqs: AsyncIterable<{ request: { case: string | undefined; value?: unknown } }>,
      ctx: CallContext,
    ) => {
      let index = 0;
      const got = await receive(
        node,
        ctx,
        (async function* () {
          for await (const r of reqs) {
            const first = index++ === 0;
            if (first && r.request.case !== "containerd")
              throw status(
                S.INVALID_ARGUMENT,
                "the first message must name the containerd instance",
              );
            if (r.request.case === "imageChunk")
              yield (r.request.value as { bytes: Uint8Array }).bytes;
            else if (!first)
              throw status(S.INVALID_ARGUMENT, "only image chunks may follow the first message");
          }
        })(),
      );
      if (got.bytes === 0) throw status(S.INVALID_ARGUMENT, "the image tarball is empty");
      const name = importedName(got.sha256);
      st.images.add(name);
      extraOf(node).completed.push({ rpc: "Import", ...got, image: name });
      return { name };
    }) as ClientStreamImpl,
  };
}
