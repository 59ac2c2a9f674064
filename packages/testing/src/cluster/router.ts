import type { EventEmitter } from "node:events";
import type { IncomingHttpHeaders } from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { EmptyResponseSchema, EmptySchema } from "@taloskit/api/common";
import { certificateRoles } from "./auth.js";
import { methodPath, rawServiceDefinition, status, toServiceError } from "./grpc.js";
import type { SimNodeImpl } from "./node.js";
import { nodeKeyPem } from "./pki.js";
import { SERVED_SERVICES } from "./services/availability.js";

const { status: S } = grpc;
const identity = (b: Buffer) => b;

/**
 * Method prefixes that Talos 1.14's apid director proxies one-to-many when the
 * call carries `nodes` metadata; any other method is refused with InvalidArgument.
 */
const ONE_TO_MANY_PREFIXES = [
  "/machine.MachineService/",
  "/cluster.ClusterService/",
  "/inspect.InspectService/",
  "/storage.StorageService/",
  "/time.TimeService/",
];

/** Routing metadata keys whose repeated header fields must stay separate values. */
const ROUTING_KEYS = ["node", "nodes"];

/**
 * Node's HTTP/2 layer joins repeated header fields into one "a, b" string
 * before grpc-js sees them, while grpc-go (and so apid) keeps one value per
 * field. Put the separate values back for the routing keys, from the raw
 * header list, before grpc-js builds the call's metadata.
 */
function keepRepeatedRoutingFields(server: grpc.Server): void {
  const h2 = (server as unknown as { http2Servers?: Map<EventEmitter, unknown> }).http2Servers;
  if (!(h2 instanceof Map) || h2.size === 0)
    throw new Error("cannot reach the HTTP/2 server of grpc-js to read raw routing headers");
  for (const http2Server of h2.keys()) {
    http2Server.prependListener(
      "stream",
      (_stream: unknown, headers: IncomingHttpHeaders, _flags: number, raw?: string[]) => {
        if (!Array.isArray(raw)) return;
        for (const key of ROUTING_KEYS) {
          const values: string[] = [];
          for (let i = 0; i + 1 < raw.length; i += 2)
            if (raw[i]?.toLowerCase() === key) values.push(raw[i + 1] ?? "");
          if (values.length > 1) headers[key] = values;
        }
      },
    );
  }
}

/** Names of gRPC codes as grpc-go prints them in `rpc error: code = X desc = Y`. */
const GO_CODE_NAMES = [
  "OK",
  "Canceled",
  "Unknown",
  "InvalidArgument",
  "DeadlineExceeded",
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "ResourceExhausted",
  "FailedPrecondition",
  "Aborted",
  "OutOfRange",
  "Unimplemented",
  "Internal",
  "Unavailable",
  "DataLoss",
  "Unauthenticated",
];

function readVarint(b: Buffer, at: number): [value: number, length: number] | undefined {
  let v = 0;
  for (let i = 0; i < 10 && at + i < b.length; i++) {
    const byte = b[at + i] ?? 0;
    v += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return [v, i + 1];
  }
  return undefined;
}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}

/** `common.Empty{metadata{hostname}}`, the bytes apid appends to a node's answer in one-to-many mode. */
function hostnameInfo(target: string): Buffer {
  return Buffer.from(
    toBinary(EmptySchema, create(EmptySchema, { metadata: { hostname: target } })),
  );
}

/**
 * A unary answer with the node's hostname added to its first `messages` entry:
 * like apid, re-frame field 1 so that the metadata bytes land inside it.
 */
function withHostnameUnary(target: string, resp: Buffer): Buffer {
  const tag = readVarint(resp, 0);
  const len = tag ? readVarint(resp, tag[1]) : undefined;
  if (!tag || !len)
    throw status(S.INTERNAL, `error appending info for ${target}: truncated message`);
  if (tag[0] !== (1 << 3) + 2)
    throw status(
      S.INTERNAL,
      `error appending info for ${target}: unexpected message format: ${tag[0]}`,
    );
  const rest = resp.subarray(tag[1] + len[1]);
  const info = hostnameInfo(target);
  return Buffer.concat([varint(tag[0]), varint(rest.length + info.length), rest, info]);
}

/** A node's failure as apid reports it in one-to-many mode: a message whose metadata holds the error. */
function errorInfo(target: string, err: unknown, streaming: boolean): Buffer {
  const e = err as { code?: number; details?: string; message?: string };
  const code = typeof e.code === "number" ? e.code : S.UNKNOWN;
  const desc = e.details ?? e.message ?? String(err);
  const empty = create(EmptySchema, {
    metadata: {
      hostname: target,
      error: `rpc error: code = ${GO_CODE_NAMES[code] ?? `Code(${code})`} desc = ${desc}`,
      status: { code, message: desc },
    },
  });
  if (streaming) return Buffer.from(toBinary(EmptySchema, empty));
  return Buffer.from(
    toBinary(EmptyResponseSchema, create(EmptyResponseSchema, { messages: [empty] })),
  );
}

/** Whether apid refuses a target before dialling (empty, or with a port). */
function invalidTarget(t: string): boolean {
  if (t === "") return true;
  if (/^\[[^\]]*\]:\d*$/.test(t)) return true;
  return t.split(":").length === 2;
}

type RoutedCall = {
  metadata: grpc.Metadata;
  getAuthContext(): { sslPeerCertificate?: import("node:tls").PeerCertificate };
  getPath(): string;
};

type Plan =
  | { many: false; client: grpc.Client; md: grpc.Metadata }
  | { many: true; targets: string[]; md: grpc.Metadata };

/** TLS material of the router. */
export interface RouterTls {
  caPem: string;
  certPem: string;
  keyPem: string;
  /** Client certificate (os:impersonator) used to reach the nodes. */
  clientCertPem: string;
  clientKeyPem: string;
}

/** When a restart fault fires in a call: as it arrives (never forwarded) or on the node's first answer. */
export type RestartMoment = "arrival" | "response";

/** A one-shot restart of the router, armed for the next call of one RPC. */
interface RestartTrigger {
  path: string;
  at: RestartMoment;
  done: () => void;
}

/** The apid-like endpoint: mTLS, forwards every call to the node named in `node` metadata. */
export class Router {
  private server?: grpc.Server;
  private port = 0;
  private readonly clients = new Map<string, grpc.Client>();
  private trigger: RestartTrigger | undefined;

  constructor(
    private readonly nodes: () => SimNodeImpl[],
    private tls: RouterTls,
    private readonly maintenanceCa: (n: SimNodeImpl) => string | undefined,
  ) {}

  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** (Re)start with the given server certificate (used by the certificate faults). */
  async start(tls?: Partial<RouterTls>): Promise<void> {
    if (tls) this.tls = { ...this.tls, ...tls };
    if (this.server) this.server.forceShutdown();
    const server = new grpc.Server({ "grpc.max_receive_message_length": 32 * 1024 * 1024 });
    for (const svc of SERVED_SERVICES) {
      const impl: grpc.UntypedServiceImplementation = {};
      for (const m of svc.methods) impl[m.name] = this.handler(methodPath(m), m.methodKind);
      server.addService(rawServiceDefinition(svc), impl);
    }
    const creds = grpc.ServerCredentials.createSsl(
      Buffer.from(this.tls.caPem),
      [
        {
          private_key: Buffer.from(nodeKeyPem(this.tls.keyPem)),
          cert_chain: Buffer.from(this.tls.certPem),
        },
      ],
      true,
    );
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${this.port}`, creds, (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    keepRepeatedRoutingFields(server);
    this.server = server;
  }

  /**
   * Restarts once, as a restarting apid does (every connection closed, the
   * port bound again), at `at` of the next call of `path`. Resolves when the
   * router is serving again after that restart.
   */
  restartOn(path: string, at: RestartMoment): Promise<void> {
    return new Promise((done) => {
      this.trigger = { path, at, done };
    });
  }

  /** Restarts now when the armed trigger matches; true when it did (the call is then dropped). */
  private restartsAt(path: string, at: RestartMoment): boolean {
    const t = this.trigger;
    if (!t || t.path !== path || t.at !== at) return false;
    this.trigger = undefined;
    void this.start().then(t.done);
    return true;
  }

  async stop(): Promise<void> {
    this.trigger = undefined;
    this.server?.forceShutdown();
    this.server = undefined;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private client(n: SimNodeImpl): grpc.Client {
    const key = `${n.address}@${n.endpoint}`;
    let c = this.clients.get(key);
    if (!c) {
      const mca = this.maintenanceCa(n);
      const creds = mca
        ? grpc.credentials.createSsl(Buffer.from(mca))
        : grpc.credentials.createSsl(
            Buffer.from(this.tls.caPem),
            Buffer.from(nodeKeyPem(this.tls.clientKeyPem)),
            Buffer.from(this.tls.clientCertPem),
          );
      c = new grpc.Client(n.endpoint, creds, {
        // Node certificates also name localhost; TLS must not be sent an IP address as server name.
        "grpc.ssl_target_name_override": "localhost",
        "grpc.max_receive_message_length": 32 * 1024 * 1024,
      });
      this.clients.set(key, c);
    }
    return c;
  }

  /** The node client for one target, counting the call on that node. */
  private dial(target: string, path: string): grpc.Client {
    const n = this.nodes().find((x) => x.address === target);
    if (!n)
      throw status(S.UNAVAILABLE, `connection error: no route to node ${JSON.stringify(target)}`);
    n.countCall(path);
    if (n.faults.unreachable || n.isDown)
      throw status(
        S.UNAVAILABLE,
        `connection error: dial tcp ${target}:50000: connect: connection refused`,
      );
    return this.client(n);
  }

  /** How apid's director routes the call: one node (`node`, or the local one) or several (`nodes`). */
  private plan(call: RoutedCall): Plan {
    const roles = certificateRoles(call.getAuthContext().sslPeerCertificate);
    const path = call.getPath();
    const node = call.metadata.get("node").map(String);
    const nodes = call.metadata.get("nodes").map(String);
    if (node.length > 1) throw status(S.INVALID_ARGUMENT, "node metadata must be single-valued");
    const md = call.metadata.clone();
    for (const k of ["node", "nodes", "talos-role", "proxyfrom", ":authority"]) md.remove(k);
    for (const r of roles) md.add("talos-role", r);
    md.set("proxyfrom", "127.0.0.1");
    if (nodes.length > 0) {
      if (!ONE_TO_MANY_PREFIXES.some((p) => path.startsWith(p)))
        throw status(S.INVALID_ARGUMENT, `one-2-many proxying is not supported for method ${path}`);
      const bad = nodes.find(invalidTarget);
      if (bad !== undefined) throw status(S.INTERNAL, `invalid target ${JSON.stringify(bad)}`);
      return { many: true, targets: nodes, md };
    }
    const target = node[0] ?? this.nodes()[0]?.address ?? "";
    return { many: false, client: this.dial(target, path), md };
  }

  /** Route a client or bidi stream, which the simulator sends to one node only. */
  private single(call: RoutedCall): { client: grpc.Client; md: grpc.Metadata } {
    const plan = this.plan(call);
    if (plan.many)
      throw status(
        S.UNIMPLEMENTED,
        "the simulator proxies client and bidi streams to one node only; send `node` per call",
      );
    return plan;
  }

  /** Unary call to several nodes, merged the way apid merges them (completion order). */
  private unaryMany(
    path: string,
    call: grpc.ServerUnaryCall<Buffer, Buffer>,
    plan: { targets: string[]; md: grpc.Metadata },
    cb: grpc.sendUnaryData<Buffer>,
  ): void {
    const parts: Buffer[] = [];
    const ups: grpc.ClientUnaryCall[] = [];
    call.on("cancelled", () => {
      for (const u of ups) u.cancel();
    });
    let failure: unknown;
    void Promise.all(
      plan.targets.map(
        (t) =>
          new Promise<void>((resolve) => {
            let client: grpc.Client;
            try {
              client = this.dial(t, path);
            } catch (e) {
              parts.push(errorInfo(t, e, false));
              resolve();
              return;
            }
            ups.push(
              client.makeUnaryRequest(
                path,
                identity,
                identity,
                call.request,
                plan.md,
                { deadline: call.getDeadline() },
                (err, res) => {
                  try {
                    parts.push(
                      err ? errorInfo(t, err, false) : withHostnameUnary(t, res as Buffer),
                    );
                  } catch (e) {
                    failure ??= e;
                  }
                  resolve();
                },
              ),
            );
          }),
      ),
    ).then(() => (failure ? cb(toServiceError(failure)) : cb(null, Buffer.concat(parts))));
  }

  /** Server stream from several nodes: every message gets its node's hostname, failures become messages. */
  private streamMany(
    path: string,
    call: grpc.ServerWritableStream<Buffer, Buffer>,
    plan: { targets: string[]; md: grpc.Metadata },
  ): void {
    let pending = plan.targets.length;
    const ups: grpc.ClientReadableStream<Buffer>[] = [];
    call.on("cancelled", () => {
      for (const u of ups) u.cancel();
    });
    const finished = () => {
      pending--;
      if (pending === 0) call.end();
    };
    for (const t of plan.targets) {
      let client: grpc.Client;
      try {
        client = this.dial(t, path);
      } catch (e) {
        call.write(errorInfo(t, e, true));
        finished();
        continue;
      }
      const up = client.makeServerStreamRequest(path, identity, identity, call.request, plan.md, {
        deadline: call.getDeadline(),
      });
      ups.push(up);
      let over = false;
      const end = (err?: unknown) => {
        if (over) return;
        over = true;
        if (err && !call.cancelled) call.write(errorInfo(t, err, true));
        finished();
      };
      up.on("data", (d: Buffer) => {
        if (!call.write(Buffer.concat([d, hostnameInfo(t)]))) {
          up.pause();
          call.once("drain", () => up.resume());
        }
      });
      up.on("error", (e: grpc.ServiceError) => end(e));
      up.on("end", () => end());
    }
  }

  private handler(path: string, kind: string): grpc.UntypedHandleCall {
    const opts = (call: { getDeadline(): grpc.Deadline }) => ({ deadline: call.getDeadline() });
    const fail = (err: unknown) => toServiceError(err);
    if (kind === "unary") {
      return ((call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        if (this.restartsAt(path, "arrival")) return;
        try {
          const plan = this.plan(call);
          if (plan.many) return this.unaryMany(path, call, plan, cb);
          const { client, md } = plan;
          const up = client.makeUnaryRequest(
            path,
            identity,
            identity,
            call.request,
            md,
            opts(call),
            (err, res) => {
              if (this.restartsAt(path, "response")) return;
              if (err) cb(err);
              else cb(null, res);
            },
          );
          call.on("cancelled", () => up.cancel());
        } catch (e) {
          cb(fail(e));
        }
      }) as grpc.UntypedHandleCall;
    }
    if (kind === "server_streaming") {
      return ((call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        if (this.restartsAt(path, "arrival")) return;
        try {
          const plan = this.plan(call);
          if (plan.many) return this.streamMany(path, call, plan);
          const { client, md } = plan;
          const up = client.makeServerStreamRequest(
            path,
            identity,
            identity,
            call.request,
            md,
            opts(call),
          );
          call.on("cancelled", () => up.cancel());
          up.on("data", (d: Buffer) => {
            const flowing = call.write(d);
            // A restart on response cuts the stream once its first message went out.
            if (this.restartsAt(path, "response")) return;
            if (!flowing) {
              up.pause();
              call.once("drain", () => up.resume());
            }
          });
          up.on("error", (e: grpc.ServiceError) => call.emit("error", e));
          up.on("end", () => call.end());
        } catch (e) {
          call.emit("error", fail(e));
        }
      }) as grpc.UntypedHandleCall;
    }
    if (kind === "client_streaming") {
      return ((call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        try {
          const { client, md } = this.single(call);
          const up = client.makeClientStreamRequest(
            path,
            identity,
            identity,
            md,
            opts(call),
            (err, res) => (err ? cb(err) : cb(null, res)),
          );
          let cancelled = false;
          call.on("cancelled", () => {
            cancelled = true;
            up.cancel();
          });
          // Read from the client only as fast as the node takes the data.
          call.on("data", (d: Buffer) => {
            if (!up.write(d)) {
              call.pause();
              up.once("drain", () => call.resume());
            }
          });
          // A cancelled upload must never look complete to the node.
          call.on("end", () => {
            if (!cancelled) up.end();
          });
        } catch (e) {
          cb(fail(e));
        }
      }) as grpc.UntypedHandleCall;
    }
    return ((call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      try {
        const { client, md } = this.single(call);
        const up = client.makeBidiStreamRequest(path, identity, identity, md, opts(call));
        call.on("cancelled", () => up.cancel());
        call.on("data", (d: Buffer) => up.write(d));
        call.on("end", () => up.end());
        up.on("data", (d: Buffer) => call.write(d));
        up.on("error", (e: grpc.ServiceError) => call.emit("error", e));
        up.on("end", () => call.end());
      } catch (e) {
        call.emit("error", fail(e));
      }
    }) as grpc.UntypedHandleCall;
  }
}
