import type { DescService } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { ClusterService } from "@taloskit/api/cluster";
import { State } from "@taloskit/api/cosi";
import { InspectService } from "@taloskit/api/inspect";
import {
  DebugService,
  ImageService,
  LifecycleService,
  LVMService,
  MachineService,
  MDService,
} from "@taloskit/api/machine";
import { StorageService } from "@taloskit/api/storage";
import { TimeService } from "@taloskit/api/time";
import { methodPath, rawServiceDefinition, status, toServiceError } from "./grpc.js";
import type { SimNodeImpl } from "./node.js";
import { nodeKeyPem } from "./pki.js";

const { status: S } = grpc;
const OID_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const ROUTED: DescService[] = [
  MachineService,
  ImageService,
  LifecycleService,
  DebugService,
  LVMService,
  MDService,
  State,
  ClusterService,
  InspectService,
  StorageService,
  TimeService,
];
const identity = (b: Buffer) => b;

/** TLS material of the router. */
export interface RouterTls {
  caPem: string;
  certPem: string;
  keyPem: string;
  /** Client certificate (os:impersonator) used to reach the nodes. */
  clientCertPem: string;
  clientKeyPem: string;
}

/** The apid-like endpoint: mTLS, forwards every call to the node named in `node` metadata. */
export class Router {
  private server?: grpc.Server;
  private port = 0;
  private readonly clients = new Map<string, grpc.Client>();

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
    for (const svc of ROUTED) {
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
    this.server = server;
  }

  async stop(): Promise<void> {
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

  private route(call: {
    metadata: grpc.Metadata;
    getAuthContext(): { sslPeerCertificate?: import("node:tls").PeerCertificate };
    getPath(): string;
  }): {
    client: grpc.Client;
    md: grpc.Metadata;
  } {
    const cert = call.getAuthContext().sslPeerCertificate;
    const eku = (cert as { ext_key_usage?: string[] } | undefined)?.ext_key_usage ?? [];
    if (!cert || eku.length !== 1 || eku[0] !== OID_CLIENT_AUTH)
      throw status(
        S.UNAUTHENTICATED,
        "client certificate must have exactly the clientAuth extended key usage",
      );
    const o = cert.subject?.O;
    const roles = Array.isArray(o) ? o : o ? [o] : [];
    const targets = call.metadata.get("node").map(String);
    if (targets.length > 1) throw status(S.INVALID_ARGUMENT, "node metadata must be single-valued");
    if (call.metadata.get("nodes").length > 0)
      throw status(
        S.UNIMPLEMENTED,
        "one-2-many proxying (`nodes` metadata) is not supported by the simulator; send `node` per call",
      );
    const all = this.nodes();
    const target = targets[0] ?? all[0]?.address;
    const n = all.find((x) => x.address === target);
    if (!n)
      throw status(S.UNAVAILABLE, `connection error: no route to node ${JSON.stringify(target)}`);
    n.countCall(call.getPath());
    if (n.faults.unreachable || n.isDown)
      throw status(
        S.UNAVAILABLE,
        `connection error: dial tcp ${target}:50000: connect: connection refused`,
      );
    const md = call.metadata.clone();
    for (const k of ["node", "nodes", "talos-role", "proxyfrom", ":authority"]) md.remove(k);
    for (const r of roles) md.add("talos-role", r);
    md.set("proxyfrom", "127.0.0.1");
    return { client: this.client(n), md };
  }

  private handler(path: string, kind: string): grpc.UntypedHandleCall {
    const opts = (call: { getDeadline(): grpc.Deadline }) => ({ deadline: call.getDeadline() });
    const fail = (err: unknown) => toServiceError(err);
    if (kind === "unary") {
      return ((call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        try {
          const { client, md } = this.route(call);
          const up = client.makeUnaryRequest(
            path,
            identity,
            identity,
            call.request,
            md,
            opts(call),
            (err, res) => {
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
        try {
          const { client, md } = this.route(call);
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
            if (!call.write(d)) {
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
          const { client, md } = this.route(call);
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
        const { client, md } = this.route(call);
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
