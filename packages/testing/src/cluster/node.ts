import { randomUUID } from "node:crypto";
import { EventEmitter, once } from "node:events";
import { create, type DescMessage, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { type Any, anyPack } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { State } from "@taloskit/api/cosi";
import {
  ApplyConfigurationRequest_Mode,
  ImageService,
  LifecycleService,
  MachineService,
  MachineStatusEvent_MachineStage,
  MachineStatusEventSchema,
  PhaseEventSchema,
  SequenceEventSchema,
  ServiceStateEvent_Action,
  ServiceStateEventSchema,
  TaskEventSchema,
} from "@taloskit/api/machine";
import { atLeastMinor } from "@taloskit/core";
import { adminKubeconfig, etcdSnapshot } from "./artifacts.js";
import {
  ConfigRefused,
  checkSimConfig,
  goDuration,
  lineDiff,
  rebootPaths,
} from "./config-apply.js";
import { methodPath, type StatusError, serviceDefinition, status, toServiceError } from "./grpc.js";
import { type ResourceChange, ResourceStore } from "./resources.js";
import { rpcAvailable, servedInMaintenance } from "./services/availability.js";
import { EXTRA_SERVICES, extraImpls } from "./services-extra.js";
import { parseInstallerImage, type SimNodeState } from "./state.js";
import { ServerStreamWatch } from "./stream-watch.js";
import { tarGz } from "./tar.js";
import { durationMs, sleep, timestamp, WakeQueue } from "./util.js";

const { status: S } = grpc;

/** Context of one call on a node. */
export interface CallContext {
  roles: Set<string>;
  metadata: grpc.Metadata;
  signal: AbortSignal;
}

type Init = Record<string, unknown>;
export type Send = (msg: Init) => Promise<void>;
export type UnaryImpl = (req: never, ctx: CallContext) => Promise<Init> | Init;
export type ServerStreamImpl = (req: never, ctx: CallContext, send: Send) => Promise<void>;
export type ClientStreamImpl = (reqs: AsyncIterable<never>, ctx: CallContext) => Promise<Init>;
export type BidiImpl = (reqs: AsyncIterable<never>, ctx: CallContext, send: Send) => Promise<void>;
export type Impl = UnaryImpl | ServerStreamImpl | ClientStreamImpl | BidiImpl;

/** Faults that apply to one node. */
export interface NodeFaults {
  delayMs: number;
  unreachable: boolean;
  dropStreamsAfterBytes: number | null;
  neverReturn: boolean;
  failPull: string | null;
  installerExitCode: number;
  etcdUnhealthy: boolean;
}

/** A node without faults: how every node starts, and what `faults.clear()` restores. */
export function noFaults(): NodeFaults {
  return {
    delayMs: 0,
    unreachable: false,
    dropStreamsAfterBytes: null,
    neverReturn: false,
    failPull: null,
    installerExitCode: 0,
    etcdUnhealthy: false,
  };
}

/** A simulated Talos machine event as stored in the node's event buffer. */
export interface StoredEvent {
  id: string;
  actorId: string;
  time: number;
  data: Any;
}

const ADMIN = ["os:admin"];
const OPERATOR = ["os:admin", "os:operator"];
const READER = ["os:admin", "os:operator", "os:reader"];

/** Roles allowed to call a method (per the Talos role table; maintenance-only exceptions are checked in handlers). */
export function allowedRoles(service: string, method: string): string[] {
  const full = `${service}/${method}`;
  if (service === "cosi.resource.State")
    return ["Get", "List", "Watch"].includes(method) ? READER : ADMIN;
  if (service === "machine.LifecycleService" || service === "machine.DebugService") return ADMIN;
  if (service === "machine.ImageService") {
    if (method === "Pull") return OPERATOR;
    if (method === "List") return READER;
    if (method === "Verify") return [...READER, "os:image:verifier"];
    return ADMIN;
  }
  if (service === "machine.LVMService" || service === "machine.MDService") return READER;
  switch (full) {
    case "machine.MachineService/ApplyConfiguration":
      return READER; // reader accepted only in maintenance, checked in the handler
    case "machine.MachineService/Read":
    case "machine.MachineService/Copy":
    case "machine.MachineService/Kubeconfig":
    case "machine.MachineService/Reset":
    case "machine.MachineService/Upgrade":
    case "machine.MachineService/Rollback":
    case "machine.MachineService/Bootstrap":
    case "machine.MachineService/EtcdRecover":
    case "machine.MachineService/EtcdRemoveMemberByID":
    case "machine.MachineService/EtcdLeaveCluster":
    case "machine.MachineService/GenerateClientConfiguration":
    case "machine.MachineService/MetaDelete":
    case "machine.MachineService/EtcdDowngradeEnable":
    case "machine.MachineService/EtcdDowngradeCancel":
      return ADMIN;
    case "machine.MachineService/MetaWrite":
      return [...ADMIN, "os:meta:writer"];
    case "machine.MachineService/EtcdSnapshot":
      return [...ADMIN, "os:etcd:backup"];
    case "machine.MachineService/Reboot":
    case "machine.MachineService/Shutdown":
    case "machine.MachineService/ServiceStart":
    case "machine.MachineService/ServiceStop":
    case "machine.MachineService/ServiceRestart":
    case "machine.MachineService/PacketCapture":
    case "machine.MachineService/ImagePull":
    case "machine.MachineService/EtcdForfeitLeadership":
    case "machine.MachineService/EtcdDefragment":
    case "machine.MachineService/EtcdAlarmDisarm":
      return OPERATOR;
    default:
      return READER;
  }
}

const OID_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

let xidCounter = 0;
/** A sortable 20-character event id in the spirit of an xid. */
function newEventId(): string {
  xidCounter++;
  return (Date.now().toString(32) + xidCounter.toString(32).padStart(8, "0"))
    .padStart(20, "0")
    .slice(-20);
}

/** TLS settings of a node server. */
export interface NodeTls {
  /** PEM CA that client certificates must chain to (absent in maintenance). */
  caPem?: string;
  certPem: string;
  keyPem: string;
}

/** Options to construct a simulated node. */
export interface SimNodeInit {
  address: string;
  state: SimNodeState;
  tls: NodeTls;
  maintenanceFingerprint?: string;
  rebootDelayMs: () => number;
}

/** One simulated Talos node: a real grpc-js server on 127.0.0.1 with its state. */
export class SimNodeImpl {
  readonly address: string;
  readonly state: SimNodeState;
  readonly resources: ResourceStore;
  readonly faults: NodeFaults = noFaults();
  /** SPKI fingerprint (base64 SHA-256) of the maintenance certificate, when in maintenance mode. */
  readonly maintenanceFingerprint?: string;
  /** Total bytes sent on server streams (for tests and benchmarks). */
  bytesSent = 0;
  /** Calls addressed to this node per RPC ("/pkg.Service/Method"), refused ones included. */
  readonly calls = new Map<string, number>();
  /** Server streams open on this node, per RPC (for tests of stream cancellation). */
  readonly serverStreams = new ServerStreamWatch();
  private server?: grpc.Server;
  private port = 0;
  private readonly tls: NodeTls;
  private readonly events: StoredEvent[] = [];
  private readonly bus = new EventEmitter();
  /** Emits "up" each time the node comes back from a reboot or a power-on. */
  private readonly lifecycle = new EventEmitter();
  private readonly active = new Set<{ kill: (e: StatusError) => void }>();
  private down = false;
  /** Wall-clock time (ms) of the current boot: kernel record timestamps count from it. */
  private bootedAt = Date.now();
  private upgrading = false;
  private readonly rebootDelayMs: () => number;
  /** Pending roll-back of an ApplyConfiguration in TRY mode. */
  private tryRollback: NodeJS.Timeout | undefined;

  constructor(init: SimNodeInit) {
    this.address = init.address;
    this.state = init.state;
    this.tls = init.tls;
    this.maintenanceFingerprint = init.maintenanceFingerprint;
    this.rebootDelayMs = init.rebootDelayMs;
    this.resources = new ResourceStore(
      () => this.state,
      () => ({
        address: this.address,
        peers: this.peers().map((p) => ({ address: p.address, state: p.state })),
      }),
    );
    this.bus.setMaxListeners(0);
    this.resources.refresh();
    this.bootEvents();
  }

  /** `127.0.0.1:<port>` of this node's own gRPC server. */
  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Whether the node is down (rebooting or never came back). */
  get isDown(): boolean {
    return this.down;
  }

  /** Re-read state after a test changed it: bumps resource versions and notifies watchers. */
  touch(): void {
    this.resources.refresh();
  }

  /** Start the gRPC server. */
  async start(): Promise<void> {
    const server = new grpc.Server({ "grpc.max_receive_message_length": 32 * 1024 * 1024 });
    for (const svc of [
      MachineService,
      ImageService,
      LifecycleService,
      State,
      ...EXTRA_SERVICES,
    ] as DescService[]) {
      server.addService(serviceDefinition(svc), this.handlersFor(svc));
    }
    const creds = this.tls.caPem
      ? grpc.ServerCredentials.createSsl(
          Buffer.from(this.tls.caPem),
          [
            {
              private_key: Buffer.from(nodeKey(this.tls.keyPem)),
              cert_chain: Buffer.from(this.tls.certPem),
            },
          ],
          true,
        )
      : grpc.ServerCredentials.createSsl(
          null,
          [
            {
              private_key: Buffer.from(nodeKey(this.tls.keyPem)),
              cert_chain: Buffer.from(this.tls.certPem),
            },
          ],
          false,
        );
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${this.port}`, creds, (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    this.server = server;
  }

  /** Stop the gRPC server, ending all calls. */
  async stop(): Promise<void> {
    for (const a of [...this.active]) a.kill(status(S.UNAVAILABLE, "node is shutting down"));
    const server = this.server;
    this.server = undefined;
    if (server) server.forceShutdown();
  }

  // ---- events ----

  /** Publish a machine event with a `talos/runtime/` Any payload. */
  publish<D extends DescMessage>(schema: D, init: Record<string, unknown>, actorId = ""): void {
    const any = anyPack(schema, create(schema, init as never));
    any.typeUrl = `talos/runtime/${schema.typeName}`;
    const ev: StoredEvent = { id: newEventId(), actorId, time: Date.now(), data: any };
    this.events.push(ev);
    if (this.events.length > 1000) this.events.shift();
    this.bus.emit("event", ev);
  }

  private machineStatusEvent(actorId = ""): void {
    const stageMap: Record<string, MachineStatusEvent_MachineStage> = {
      unknown: MachineStatusEvent_MachineStage.UNKNOWN,
      booting: MachineStatusEvent_MachineStage.BOOTING,
      installing: MachineStatusEvent_MachineStage.INSTALLING,
      maintenance: MachineStatusEvent_MachineStage.MAINTENANCE,
      running: MachineStatusEvent_MachineStage.RUNNING,
      rebooting: MachineStatusEvent_MachineStage.REBOOTING,
      "shutting down": MachineStatusEvent_MachineStage.SHUTTING_DOWN,
      resetting: MachineStatusEvent_MachineStage.RESETTING,
      upgrading: MachineStatusEvent_MachineStage.UPGRADING,
    };
    this.publish(
      MachineStatusEventSchema,
      {
        stage: stageMap[this.state.stage],
        status: { ready: this.state.ready, unmetConditions: this.state.unmetConditions },
      },
      actorId,
    );
  }

  private setStage(stage: SimNodeState["stage"], ready: boolean, actorId = ""): void {
    this.state.stage = stage;
    this.state.ready = ready;
    this.resources.refresh();
    this.machineStatusEvent(actorId);
  }

  private bootEvents(): void {
    this.events.length = 0;
    this.publish(SequenceEventSchema, { sequence: "boot", action: 1 });
    this.publish(PhaseEventSchema, { phase: "startEverything", action: 0 });
    for (const s of this.state.services) {
      this.publish(ServiceStateEventSchema, {
        service: s.id,
        action: ServiceStateEvent_Action.RUNNING,
        message: "Service started as goroutine",
        health: { unknown: false, healthy: s.healthy },
      });
    }
    this.publish(PhaseEventSchema, { phase: "startEverything", action: 1 });
    this.publish(SequenceEventSchema, { sequence: "boot", action: 2 });
    this.machineStatusEvent();
  }

  // ---- reboot / upgrade ----

  /** Reboot: events, connections drop, the node comes back after the reboot delay with a new boot ID (and a pending upgrade applied). */
  reboot(actorId: string, sequence = "reboot"): void {
    void (async () => {
      this.publish(SequenceEventSchema, { sequence, action: 1 }, actorId);
      this.publish(TaskEventSchema, { task: "stopAllServices", action: 0 }, actorId);
      this.setStage("rebooting", false, actorId);
      await sleep(30);
      this.goDown();
      await sleep(this.rebootDelayMs());
      if (this.faults.neverReturn) return;
      const up = this.state.pendingUpgrade;
      if (up) {
        if (up.version) this.state.version = up.version;
        if (up.schematic) this.state.schematic = up.schematic;
        this.state.pendingUpgrade = undefined;
      }
      if (this.state.stagedConfig) {
        this.state.config = this.state.stagedConfig;
        this.state.stagedConfig = undefined;
      }
      this.state.bootId = randomUUID();
      this.bootedAt = Date.now();
      this.state.boots++;
      this.state.stage = this.state.maintenance ? "maintenance" : "running";
      this.state.ready = true;
      this.down = false;
      this.resources.refresh();
      this.bootEvents();
      this.lifecycle.emit("up");
    })();
  }

  /** Resolves when the node next comes up (after a reboot or power-on); rejects after `timeoutMs`. */
  async nextBoot(timeoutMs: number): Promise<void> {
    await once(this.lifecycle, "up", { signal: AbortSignal.timeout(timeoutMs) });
  }

  /** End all open streams with Unavailable (used by the unreachable fault). */
  async stopStreams(): Promise<void> {
    for (const a of [...this.active])
      a.kill(status(S.UNAVAILABLE, "connection reset: node unreachable"));
  }

  private goDown(): void {
    this.down = true;
    for (const a of [...this.active])
      a.kill(status(S.UNAVAILABLE, "connection closed: node is rebooting"));
  }

  /** Bring a node that never returned back up (after `neverReturn` was cleared). */
  powerOn(): void {
    if (!this.down) return;
    this.faults.neverReturn = false;
    this.state.bootId = randomUUID();
    this.bootedAt = Date.now();
    this.state.stage = this.state.maintenance ? "maintenance" : "running";
    this.state.ready = true;
    this.down = false;
    this.resources.refresh();
    this.bootEvents();
    this.lifecycle.emit("up");
  }

  // ---- plumbing ----

  private rolesOf(call: SurfaceCall): Set<string> {
    if (!this.tls.caPem) return new Set(["os:reader"]);
    const cert = call.getAuthContext().sslPeerCertificate;
    if (!cert) throw status(S.UNAUTHENTICATED, "client certificate required");
    const eku = (cert as { ext_key_usage?: string[] }).ext_key_usage ?? [];
    if (eku.length !== 1 || eku[0] !== OID_CLIENT_AUTH)
      throw status(
        S.UNAUTHENTICATED,
        "client certificate must have exactly the clientAuth extended key usage",
      );
    const o = cert.subject?.O;
    const orgs = new Set(Array.isArray(o) ? o : o ? [o] : []);
    const proxied = call.metadata.get("talos-role").map(String);
    if (orgs.has("os:impersonator") && call.metadata.get("proxyfrom").length > 0) {
      return new Set(
        proxied
          .flatMap((r) => r.split(","))
          .map((r) => r.trim())
          .filter(Boolean),
      );
    }
    return orgs;
  }

  /** Count a call addressed to this node (the router counts the ones it forwards or refuses). */
  countCall(path: string): void {
    this.calls.set(path, (this.calls.get(path) ?? 0) + 1);
  }

  private async guard(m: DescMethod, call: SurfaceCall): Promise<CallContext> {
    if (call.metadata.get("proxyfrom").length === 0) this.countCall(methodPath(m));
    if (this.faults.unreachable || this.down)
      throw status(S.UNAVAILABLE, `connection refused: node ${this.address} is unreachable`);
    if (this.faults.delayMs > 0) await sleep(this.faults.delayMs);
    if (this.faults.unreachable || this.down)
      throw status(S.UNAVAILABLE, `connection refused: node ${this.address} is unreachable`);
    const svc = m.parent.typeName;
    if (!rpcAvailable(svc, m.name, this.state.version))
      throw status(S.UNIMPLEMENTED, `unknown service ${svc}`);
    if (this.state.maintenance && !servedInMaintenance(svc, m.name, this.state.version))
      throw status(S.UNIMPLEMENTED, "API is not implemented in maintenance mode");
    const roles = this.rolesOf(call);
    const allowed = allowedRoles(svc, m.name);
    if (!allowed.some((r) => roles.has(r))) throw status(S.PERMISSION_DENIED, "not authorized");
    const ac = new AbortController();
    call.on("cancelled", () => ac.abort());
    return { roles, metadata: call.metadata, signal: ac.signal };
  }

  private handlersFor(svc: DescService): grpc.UntypedServiceImplementation {
    const impls = this.impls();
    const out: grpc.UntypedServiceImplementation = {};
    for (const m of svc.methods) {
      const impl = impls[methodPath(m)];
      const kind = m.methodKind;
      if (kind === "unary") {
        out[m.name] = (
          call: grpc.ServerUnaryCall<unknown, unknown>,
          cb: grpc.sendUnaryData<unknown>,
        ) => {
          void (async () => {
            try {
              const ctx = await this.guard(m, call);
              if (!impl) throw status(S.UNIMPLEMENTED, `method ${m.name} not implemented`);
              const res = await (impl as UnaryImpl)(call.request as never, ctx);
              cb(null, create(m.output, res as never));
            } catch (e) {
              cb(toServiceError(e));
            }
          })();
        };
      } else if (kind === "server_streaming") {
        out[m.name] = (call: grpc.ServerWritableStream<unknown, unknown>) => {
          this.serverStreams.track(call, methodPath(m));
          const entry = {
            kill: (e: StatusError) => {
              this.active.delete(entry);
              call.emit("error", toServiceError(e));
              call.end();
            },
          };
          let killed = false;
          const kill = (e: StatusError) => {
            if (killed) return;
            killed = true;
            ac.abort();
            entry.kill(e);
          };
          const ac = new AbortController();
          entry.kill = ((orig) => (e: StatusError) => {
            if (!killed) {
              killed = true;
              ac.abort();
            }
            orig(e);
          })(entry.kill);
          this.active.add(entry);
          let sent = 0;
          const send: Send = async (msg) => {
            if (killed || call.cancelled) throw new StreamClosed();
            const message = create(m.output, msg as never);
            const size =
              (m.output.typeName === "common.Data"
                ? ((msg.bytes as Uint8Array | undefined)?.length ?? 0)
                : 0) + 8;
            const limit = this.faults.dropStreamsAfterBytes;
            if (limit !== null && sent + size > limit) {
              kill(status(S.UNAVAILABLE, "connection reset by peer (simulated drop)"));
              throw new StreamClosed();
            }
            sent += size;
            this.bytesSent += size;
            if (!call.write(message)) {
              // once() with a signal removes its abort listener when drain comes
              // first: one listener per wait would pile up on the signal over a
              // long stream, and each add scans the pile (quadratic).
              await once(call, "drain", { signal: ac.signal }).catch(() => undefined);
            }
          };
          void (async () => {
            try {
              const ctx = await this.guard(m, call);
              ctx.signal.addEventListener("abort", () => ac.abort());
              if (!impl) throw status(S.UNIMPLEMENTED, `method ${m.name} not implemented`);
              await (impl as ServerStreamImpl)(
                call.request as never,
                { ...ctx, signal: ac.signal },
                send,
              );
              if (!killed) {
                this.active.delete(entry);
                call.end();
              }
            } catch (e) {
              if (e instanceof StreamClosed || killed) return;
              this.active.delete(entry);
              call.emit("error", toServiceError(e));
            }
          })();
        };
      } else if (kind === "client_streaming") {
        out[m.name] = (
          call: grpc.ServerReadableStream<unknown, unknown>,
          cb: grpc.sendUnaryData<unknown>,
        ) => {
          void (async () => {
            try {
              const ctx = await this.guard(m, call);
              if (!impl) throw status(S.UNIMPLEMENTED, `method ${m.name} not implemented`);
              const res = await (impl as ClientStreamImpl)(
                call as unknown as AsyncIterable<never>,
                ctx,
              );
              cb(null, create(m.output, res as never));
            } catch (e) {
              cb(toServiceError(e));
            }
          })();
        };
      } else {
        out[m.name] = (call: grpc.ServerDuplexStream<unknown, unknown>) => {
          void (async () => {
            try {
              const ctx = await this.guard(m, call);
              if (!impl) throw status(S.UNIMPLEMENTED, `method ${m.name} not implemented`);
              const send: Send = async (msg) => {
                if (call.cancelled || ctx.signal.aborted) throw new StreamClosed();
                // As for server streams: once() drops its abort listener when drain comes first.
                if (!call.write(create(m.output, msg as never)))
                  await once(call, "drain", { signal: ctx.signal }).catch(() => undefined);
              };
              // A plain for-await would destroy the duplex at the end of the
              // input, before the last responses and the status are written.
              const input = (
                call as unknown as {
                  iterator(o: { destroyOnReturn: boolean }): AsyncIterable<never>;
                }
              ).iterator({ destroyOnReturn: false });
              await (impl as BidiImpl)(input, ctx, send);
              call.end();
            } catch (e) {
              if (e instanceof StreamClosed) return;
              call.emit("error", toServiceError(e));
            }
          })();
        };
      }
    }
    return out;
  }

  // ---- implementations ----

  private impls(): Record<string, Impl> {
    const st = this.state;
    const M = "/machine.MachineService/";
    const requireCp = () => {
      if (st.role !== "controlplane" || !st.etcd)
        throw status(S.FAILED_PRECONDITION, "etcd is not running on this node");
    };
    const dataStream = async (bytes: Uint8Array, send: Send, chunk = 4096) => {
      for (let i = 0; i < bytes.length; i += chunk)
        await send({ bytes: bytes.subarray(i, i + chunk) });
    };
    const lines = async (ls: string[], send: Send) => {
      for (const l of ls) await send({ bytes: Buffer.from(`${l}\n`) });
    };
    const waitAbort = (signal: AbortSignal) =>
      new Promise<void>((r) =>
        signal.aborted ? r() : signal.addEventListener("abort", () => r()),
      );

    const impls: Record<string, Impl> = {
      [`${M}Version`]: () => ({
        messages: [
          {
            version: {
              tag: st.version,
              sha: st.sha,
              built: "2026-08-01T00:00:00Z",
              goVersion: "go1.25.1",
              os: "linux",
              arch: st.arch,
            },
            platform: { name: st.platform, mode: st.platform === "metal" ? "metal" : "cloud" },
            features: { rbac: true },
          },
        ],
      }),
      [`${M}Hostname`]: () => ({ messages: [{ hostname: st.hostname }] }),
      [`${M}ServiceList`]: () => ({
        messages: [
          {
            services: st.services.map((s) => ({
              id: s.id,
              state: s.state,
              events: { events: [{ msg: "Service started", state: s.state, ts: timestamp() }] },
              health: {
                unknown: false,
                healthy: s.healthy,
                lastMessage: "",
                lastChange: timestamp(),
              },
            })),
          },
        ],
      }),
      [`${M}Memory`]: () => {
        const totalKiB = BigInt(st.profile.memoryModules.reduce((a, m) => a + m.sizeMiB, 0) * 1024);
        return {
          messages: [
            {
              meminfo: {
                memtotal: totalKiB,
                memfree: totalKiB / 2n,
                memavailable: (totalKiB * 3n) / 4n,
                buffers: 1024n,
                cached: totalKiB / 8n,
              },
            },
          ],
        };
      },
      [`${M}Logs`]: (async (
        req: { namespace: string; id: string; driver: number; follow: boolean; tailLines: number },
        ctx: CallContext,
        send: Send,
      ) => {
        const all = logSource(st, req);
        // A negative tail means every line; 0 means none (talosctl sends -1 for "all").
        const ls =
          req.tailLines >= 0 ? all.slice(all.length - Math.min(req.tailLines, all.length)) : all;
        await lines(ls, send);
        if (req.follow) await waitAbort(ctx.signal);
      }) as ServerStreamImpl,
      [`${M}Dmesg`]: (async (
        req: { follow: boolean; tail: boolean },
        ctx: CallContext,
        send: Send,
      ) => {
        // `tail` starts after the last record: only new records (when following) are sent.
        if (!req.tail)
          for (const [i, m] of st.dmesg.entries())
            await send({ bytes: Buffer.from(kmsgRecord(m, this.bootedAt + i)) });
        if (req.follow) await waitAbort(ctx.signal);
      }) as ServerStreamImpl,
      [`${M}Read`]: (async (req: { path: string }, ctx: CallContext, send: Send) => {
        if (req.path === "/proc/sys/kernel/random/boot_id")
          return dataStream(Buffer.from(`${st.bootId}\n`), send);
        if (req.path === "/sim/large") {
          const chunk = Buffer.alloc(64 * 1024);
          for (let i = 0; i < chunk.length; i++) chunk[i] = i & 0xff;
          let left = st.largeFileSize;
          while (left > 0 && !ctx.signal.aborted) {
            const n = Math.min(left, chunk.length);
            await send({ bytes: n === chunk.length ? chunk : chunk.subarray(0, n) });
            left -= n;
          }
          return;
        }
        const f = st.files.get(req.path);
        if (f === undefined)
          throw status(S.NOT_FOUND, `open ${req.path}: no such file or directory`);
        await dataStream(typeof f === "string" ? Buffer.from(f) : f, send);
      }) as ServerStreamImpl,
      [`${M}Copy`]: (async (req: { rootPath: string }, _ctx: CallContext, send: Send) => {
        const root = req.rootPath.replace(/\/+$/, "");
        const files = [...st.files].filter(([p]) => p === root || p.startsWith(`${root}/`));
        if (files.length === 0)
          throw status(S.NOT_FOUND, `lstat ${req.rootPath}: no such file or directory`);
        const base = root.slice(0, root.lastIndexOf("/") + 1);
        // Like Talos's archiver, each directory comes before what it holds.
        const dirs = new Set<string>();
        for (const [p] of files)
          for (let at = p.indexOf("/", base.length); at > 0; at = p.indexOf("/", at + 1))
            dirs.add(p.slice(base.length, at));
        const tgz = tarGz([
          ...[...dirs].sort().map((name) => ({ name, data: new Uint8Array(), dir: true })),
          ...files.map(([p, d]) => ({
            name: p.slice(base.length),
            data: typeof d === "string" ? Buffer.from(d) : d,
          })),
        ]);
        await dataStream(tgz, send, 32 * 1024);
      }) as ServerStreamImpl,
      [`${M}Kubeconfig`]: (async (_req: unknown, _ctx: CallContext, send: Send) => {
        requireCp();
        const kc = adminKubeconfig({
          cluster: "sim",
          server: `https://${this.address}:6443`,
          caPem: this.tls.caPem ?? "",
          certPem: this.tls.certPem,
          keyPem: this.tls.keyPem,
        });
        await dataStream(tarGz([{ name: "kubeconfig", data: Buffer.from(kc) }]), send);
      }) as ServerStreamImpl,
      [`${M}EtcdSnapshot`]: (async (_req: unknown, _ctx: CallContext, send: Send) => {
        requireCp();
        await dataStream(etcdSnapshot(), send, 64 * 1024);
      }) as ServerStreamImpl,
      [`${M}EtcdMemberList`]: () => {
        requireCp();
        return { messages: [{ members: this.etcdMembers(), legacyMembers: [] }] };
      },
      [`${M}EtcdStatus`]: () => {
        requireCp();
        const e = st.etcd;
        if (!e) throw status(S.FAILED_PRECONDITION, "etcd is not running on this node");
        if (this.faults.etcdUnhealthy || !e.healthy)
          throw status(S.UNAVAILABLE, "etcdserver: no leader");
        return {
          messages: [
            {
              memberStatus: {
                memberId: e.id,
                protocolVersion: "3.6.0",
                storageVersion: "3.6.0",
                dbSize: e.dbSize,
                dbSizeInUse: e.dbSize / 2n,
                leader: this.etcdMembers()[0]?.id ?? e.id,
                raftIndex: 1234n,
                raftTerm: 2n,
                raftAppliedIndex: 1234n,
                errors: [],
                isLearner: e.isLearner,
              },
            },
          ],
        };
      },
      [`${M}ApplyConfiguration`]: ((
        req: Parameters<SimNodeImpl["applyConfiguration"]>[0],
        ctx: CallContext,
      ) => this.applyConfiguration(req, ctx)) as UnaryImpl,
      [`${M}Reboot`]: () => {
        if (st.maintenance) throw status(S.PERMISSION_DENIED, "not authorized");
        const actorId = randomUUID();
        this.reboot(actorId);
        return { messages: [{ actorId }] };
      },
      [`${M}Upgrade`]: ((req: {
        image: string;
        preserve: boolean;
        stage: boolean;
        force: boolean;
      }) => this.legacyUpgrade(req)) as UnaryImpl,
      [`${M}Events`]: ((
        req: { tailEvents: number; tailId: string; tailSeconds: number; withActorId: string },
        ctx: CallContext,
        send: Send,
      ) => this.streamEvents(req, ctx, send)) as ServerStreamImpl,
      "/machine.ImageService/Pull": (async (
        req: { imageRef: string },
        _ctx: CallContext,
        send: Send,
      ) => {
        if (!req.imageRef) throw status(S.INVALID_ARGUMENT, "image reference is required");
        if (this.faults.failPull !== null)
          throw status(
            S.NOT_FOUND,
            `failed to pull image ${JSON.stringify(req.imageRef)}: ${this.faults.failPull || "not found"}`,
          );
        for (const layer of ["sha256:1a2b", "sha256:3c4d"]) {
          for (const offset of [0n, 512n, 1024n]) {
            await send({
              response: {
                case: "pullProgress",
                value: {
                  layerId: layer,
                  progress: { status: offset === 1024n ? 1 : 0, offset, total: 1024n },
                },
              },
            });
          }
        }
        st.images.add(req.imageRef);
        await send({ response: { case: "name", value: req.imageRef } });
      }) as ServerStreamImpl,
      "/machine.ImageService/List": (async (_req: unknown, _ctx: CallContext, send: Send) => {
        for (const name of st.images)
          await send({ name, digest: "sha256:0000", size: 1024n, createdAt: timestamp() });
      }) as ServerStreamImpl,
      "/machine.LifecycleService/Upgrade": (async (
        req: { source?: { imageName: string } },
        _ctx: CallContext,
        send: Send,
      ) => {
        const image = req.source?.imageName ?? "";
        if (!image) throw status(S.INVALID_ARGUMENT, "image name is required");
        if (st.maintenance) throw status(S.FAILED_PRECONDITION, "machine is not installed");
        if (this.upgrading)
          throw status(
            S.FAILED_PRECONDITION,
            "another installation/upgrade is already in progress",
          );
        this.upgrading = true;
        try {
          const msg = (message: string) =>
            send({ progress: { response: { case: "message", value: message } } });
          await msg(`using image ${image}`);
          if (!st.images.has(image)) {
            await msg(`image ${image} not found in containerd`);
            await send({ progress: { response: { case: "exitCode", value: 5 } } });
            return;
          }
          await msg("validating installer");
          await msg("installing bootloader");
          await msg("writing image to disk");
          const code = this.faults.installerExitCode;
          if (code === 0) {
            const p = parseInstallerImage(image);
            st.pendingUpgrade = {
              image,
              version: p.version ?? st.version,
              schematic: p.schematic ?? st.schematic,
            };
            await msg("upgrade staged, reboot to complete it");
          } else {
            await msg("installation failed");
          }
          await send({ progress: { response: { case: "exitCode", value: code } } });
        } finally {
          this.upgrading = false;
        }
      }) as ServerStreamImpl,
      "/cosi.resource.State/Get": ((
        req: { namespace: string; type: string; id: string },
        ctx: CallContext,
      ) => {
        this.checkResourceAccess(req.namespace, req.type, ctx);
        const r = this.resources.get(req.namespace, req.type, req.id);
        if (!r)
          throw status(
            S.NOT_FOUND,
            `resource ${req.type}(${req.namespace}/${req.id}@undefined) doesn't exist`,
          );
        return { resource: r };
      }) as UnaryImpl,
      "/cosi.resource.State/List": (async (
        req: { namespace: string; type: string },
        ctx: CallContext,
        send: Send,
      ) => {
        this.checkResourceAccess(req.namespace, req.type, ctx);
        for (const r of this.resources.list(req.namespace, req.type)) await send({ resource: r });
      }) as ServerStreamImpl,
      "/cosi.resource.State/Watch": ((req: WatchReq, ctx: CallContext, send: Send) =>
        this.watch(req, ctx, send)) as ServerStreamImpl,
    };
    Object.assign(impls, extraImpls(this));
    for (const w of ["Create", "Update", "Destroy", "Teardown", "TeardownAndDestroy"]) {
      impls[`/cosi.resource.State/${w}`] = () => {
        throw status(S.PERMISSION_DENIED, "write access is not allowed");
      };
    }
    return impls;
  }

  private etcdMembers() {
    return this.peers()
      .map((n) => n.state.etcd)
      .filter((e): e is NonNullable<typeof e> => e !== undefined)
      .map((e) => ({
        id: e.id,
        hostname: e.hostname,
        peerUrls: e.peerUrls,
        clientUrls: e.clientUrls,
        isLearner: e.isLearner,
      }));
  }

  /** Other nodes of the cluster (set by the simulator, for etcd membership). */
  peers: () => SimNodeImpl[] = () => [this];

  private checkResourceAccess(namespace: string, type: string, ctx: CallContext): void {
    const t = this.resources.type(type);
    if (!t)
      throw status(S.PERMISSION_DENIED, `resource type ${JSON.stringify(type)} is not supported`);
    if (!this.resources.namespaces().includes(namespace))
      throw status(S.PERMISSION_DENIED, `namespace ${JSON.stringify(namespace)} is not supported`);
    if (t.sensitive && !ctx.roles.has("os:admin"))
      throw status(S.PERMISSION_DENIED, "not authorized");
  }

  private async watch(req: WatchReq, ctx: CallContext, send: Send): Promise<void> {
    this.checkResourceAccess(req.namespace, req.type, ctx);
    const v1 = req.apiVersion >= 1;
    const queue = new WakeQueue<ResourceChange>();
    const unsubscribe = this.resources.subscribe((c) => {
      const md = c.resource.metadata;
      if (md?.namespace !== req.namespace || md.type !== req.type) return;
      if (req.id !== undefined && md.id !== req.id) return;
      queue.push(c);
    });
    const evType = { created: 0, updated: 1, destroyed: 2 } as const;
    try {
      // As COSI's state server: an empty response once the watch is set up, before any event.
      await send({ event: [] });
      if (req.id !== undefined) {
        const r = this.resources.get(req.namespace, req.type, req.id);
        if (r) await send({ event: [{ resource: r, eventType: 0 }] });
        else
          await send({
            event: [
              {
                resource: {
                  metadata: {
                    namespace: req.namespace,
                    type: req.type,
                    id: req.id,
                    version: "0",
                    phase: "running",
                  },
                  spec: {},
                },
                eventType: 2,
              },
            ],
          });
      } else {
        const opts = req.options;
        if (opts?.bootstrapContents) {
          for (const r of this.resources.list(req.namespace, req.type))
            await send({ event: [{ resource: r, eventType: 0 }] });
          if (v1) await send({ event: [{ eventType: 3 }] });
        }
      }
      for await (const c of queue.drain(ctx.signal))
        await send({ event: [{ resource: c.resource, old: c.old, eventType: evType[c.kind] }] });
    } finally {
      unsubscribe();
    }
  }

  private async streamEvents(
    req: { tailEvents: number; tailId: string; tailSeconds: number; withActorId: string },
    ctx: CallContext,
    send: Send,
  ): Promise<void> {
    const queue = new WakeQueue<StoredEvent>();
    const onEvent = (e: StoredEvent) => queue.push(e);
    this.bus.on("event", onEvent);
    const match = (e: StoredEvent) => !req.withActorId || e.actorId === req.withActorId;
    const toMsg = (e: StoredEvent) => ({ id: e.id, actorId: e.actorId, data: e.data });
    try {
      // As machined does: a "hello" first, with a fresh ID, the caller's actor ID and an empty Any.
      await send({
        id: newEventId(),
        actorId: req.withActorId,
        data: { typeUrl: "", value: new Uint8Array() },
      });
      let backlog: StoredEvent[] = [];
      if (req.tailId) {
        // As machined: every event after that ID. IDs sort by time across reboots, so a
        // tracker resuming from an event of the previous boot gets the whole new boot.
        backlog = this.events.filter((e) => e.id > req.tailId);
      } else if (req.tailSeconds > 0) {
        const since = Date.now() - req.tailSeconds * 1000;
        backlog = this.events.filter((e) => e.time >= since);
      } else if (req.tailEvents < 0) {
        backlog = [...this.events];
      } else if (req.tailEvents > 0) {
        backlog = this.events.slice(-req.tailEvents);
      }
      const seen = new Set(backlog.map((e) => e.id));
      for (const e of backlog) if (match(e)) await send(toMsg(e));
      for await (const e of queue.drain(ctx.signal)) {
        if (seen.has(e.id) || !match(e)) continue;
        await send(toMsg(e));
      }
    } finally {
      this.bus.off("event", onEvent);
    }
  }

  private applyConfiguration(
    req: {
      data: Uint8Array;
      mode: ApplyConfigurationRequest_Mode;
      dryRun: boolean;
      tryModeTimeout?: { seconds: bigint; nanos: number };
    },
    ctx: CallContext,
  ): Init {
    // Everything that can refuse the request runs before any state changes, so a
    // refused config leaves the node exactly as it was.
    const st = this.state;
    const M = ApplyConfigurationRequest_Mode;
    if (!ctx.roles.has("os:admin") && !st.maintenance)
      throw status(S.PERMISSION_DENIED, "not authorized");
    const text = Buffer.from(req.data).toString("utf8");
    try {
      checkSimConfig(text, { maintenance: st.maintenance });
    } catch (e) {
      if (e instanceof ConfigRefused) throw status(S.INVALID_ARGUMENT, e.message);
      throw e;
    }
    const live = atLeastMinor(st.version, "1.14");
    let mode = req.mode;
    if (mode === M.REBOOT) {
      if (st.maintenance) mode = M.NO_REBOOT;
      else if (live) throw status(S.UNIMPLEMENTED, "apply mode REBOOT is not supported anymore");
    }
    let details = "Applied configuration without a reboot";
    let why = "";
    // Talos 1.14 applies every change live; older nodes reboot for some v1alpha1 fields.
    const needReboot = !live && !st.maintenance && st.config ? rebootPaths(st.config, text) : [];
    const immediateError = `this config change can't be applied in immediate mode\ndiff:\n${needReboot.map((p) => `  ${p}`).join("\n")}`;
    switch (mode) {
      case M.AUTO:
        if (needReboot.length) {
          mode = M.REBOOT;
          details = "Applied configuration with a reboot";
          why = `: ${immediateError}`;
        } else mode = M.NO_REBOOT;
        break;
      case M.NO_REBOOT:
      case M.TRY:
        if (needReboot.length) throw status(S.INVALID_ARGUMENT, immediateError);
        break;
      case M.STAGED:
        details = "Staged configuration to be applied after the next reboot";
        break;
      case M.REBOOT:
        details = "Applied configuration with a reboot";
        break;
      default:
        throw status(S.INVALID_ARGUMENT, `unknown apply mode ${String(mode)}`);
    }
    if (req.dryRun) {
      const diff = lineDiff(st.config, text);
      return {
        messages: [
          {
            mode,
            modeDetails: `Dry run summary:\n${details} (skipped in dry-run).\nConfig diff:\n\n${diff || "No changes."}`,
            warnings: [],
          },
        ],
      };
    }
    // Any apply other than TRY confirms (cancels) a pending TRY roll-back.
    const pending = this.tryRollback;
    if (pending) clearTimeout(pending);
    this.tryRollback = undefined;
    switch (mode) {
      case M.TRY: {
        const t = req.tryModeTimeout;
        const ms = t ? durationMs(t) : 60_000;
        details += `\nThe config is applied in 'try' mode and will be automatically reverted back in ${goDuration(ms)}`;
        const previous = st.config;
        st.config = text;
        this.tryRollback = setTimeout(() => {
          this.tryRollback = undefined;
          st.config = previous;
          this.resources.refresh();
        }, ms);
        this.tryRollback.unref();
        break;
      }
      case M.STAGED:
        st.stagedConfig = text;
        break;
      case M.REBOOT:
        st.stagedConfig = text;
        this.reboot(randomUUID());
        break;
      default:
        st.config = text;
        st.stagedConfig = undefined;
    }
    this.resources.refresh();
    return { messages: [{ mode, modeDetails: details + why, warnings: [] }] };
  }

  private legacyUpgrade(req: {
    image: string;
    preserve: boolean;
    stage: boolean;
    force: boolean;
  }): Init {
    const st = this.state;
    if (st.maintenance) throw status(S.FAILED_PRECONDITION, "system is not installed");
    if (!req.image) throw status(S.INVALID_ARGUMENT, "image is required");
    if (
      st.role === "controlplane" &&
      !req.force &&
      !req.preserve &&
      (this.faults.etcdUnhealthy || st.etcd?.healthy === false)
    ) {
      throw status(S.FAILED_PRECONDITION, "etcd member is not healthy; refusing to upgrade");
    }
    const actorId = randomUUID();
    void (async () => {
      this.publish(SequenceEventSchema, { sequence: "upgrade", action: 1 }, actorId);
      this.setStage("upgrading", false, actorId);
      await sleep(20);
      if (this.faults.failPull !== null || this.faults.installerExitCode !== 0) {
        const why =
          this.faults.failPull !== null
            ? `failed to pull image: ${this.faults.failPull || "not found"}`
            : `installer exited with code ${this.faults.installerExitCode}`;
        this.publish(
          SequenceEventSchema,
          { sequence: "upgrade", action: 2, error: { code: 0, message: why } },
          actorId,
        );
        this.setStage("running", true, actorId);
        return;
      }
      const p = parseInstallerImage(req.image);
      st.pendingUpgrade = {
        image: req.image,
        version: p.version ?? st.version,
        schematic: p.schematic ?? st.schematic,
      };
      this.publish(SequenceEventSchema, { sequence: "upgrade", action: 2 }, actorId);
      this.reboot(actorId);
    })();
    return { messages: [{ ack: "Upgrade request received", actorId }] };
  }
}

interface WatchReq {
  namespace: string;
  type: string;
  id?: string;
  apiVersion: number;
  options?: { bootstrapContents: boolean; tailEvents: number };
}

class StreamClosed extends Error {}

interface SurfaceCall {
  metadata: grpc.Metadata;
  getAuthContext(): { sslPeerCertificate?: import("node:tls").PeerCertificate };
  on(event: "cancelled", cb: () => void): unknown;
}

function nodeKey(pem: string): string {
  return pem.replace(/(-----(BEGIN|END) )ED25519 PRIVATE KEY-----/g, "$1PRIVATE KEY-----");
}

const KMSG_PRIORITIES = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];

/**
 * One kernel record as Talos's Dmesg sends it: `facility: priority: [time]: message`,
 * the priority right-aligned in 7 columns, the time in RFC 3339 with nanoseconds
 * (trailing zeros dropped), and the message ending in the newline that each
 * /dev/kmsg record carries. A message may start with a printk level `<N>`
 * (default 6, info); every simulated record comes from the kernel facility.
 */
export function kmsgRecord(message: string, timeMs: number): string {
  const m = /^<([0-7])>/.exec(message);
  const priority = KMSG_PRIORITIES[m ? Number(m[1]) : 6] ?? "info";
  const text = m ? message.slice(m[0].length) : message;
  const time = new Date(timeMs)
    .toISOString()
    .replace(/\.(\d*?)0*Z$/, (_all, digits: string) => (digits ? `.${digits}Z` : "Z"));
  return `kern: ${priority.padStart(7)}: [${time}]: ${text}${text.endsWith("\n") ? "" : "\n"}`;
}

const SYSTEM_NS = "system";
const CRI_NS = "k8s.io";
const TALOS_CONTAINERS_NS = "taloscontainers";
const DRIVER_CRI = 1;

/**
 * The lines a Logs request reads, chosen the way machined chooses: the service
 * log buffers for the system namespace (and for `kubelet` in any namespace),
 * `taloscontainers-<id>` buffers for that namespace, otherwise the CRI
 * containers; failures carry machined's messages (plain errors, so Unknown).
 */
function logSource(
  st: SimNodeState,
  req: { namespace: string; id: string; driver: number },
): string[] {
  if (req.namespace === SYSTEM_NS || req.id === "kubelet") {
    const l = st.logs.get(req.id);
    if (!l) throw status(S.UNKNOWN, `log ${JSON.stringify(req.id)} was not registered`);
    return l;
  }
  if (req.namespace === TALOS_CONTAINERS_NS) {
    const key = `${TALOS_CONTAINERS_NS}-${req.id}`;
    const l = st.logs.get(key);
    if (!l) throw status(S.UNKNOWN, `log ${JSON.stringify(key)} was not registered`);
    return l;
  }
  if (req.namespace === "") throw status(S.INVALID_ARGUMENT, "namespace can't be empty");
  if (req.driver === DRIVER_CRI && req.namespace !== CRI_NS)
    throw status(S.UNKNOWN, "CRI inspector is supported only for K8s namespace");
  const l = req.namespace === CRI_NS ? st.containerLogs?.get(req.id) : undefined;
  if (!l) throw status(S.UNKNOWN, `container ${JSON.stringify(req.id)} not found`);
  return l;
}
