// The gRPC server of one node: TLS, the gate every call passes (faults,
// version and maintenance availability, roles) and the adapters from grpc-js
// calls to the services' implementations. It keeps the open streams so that
// a reboot, an unreachable fault or a stop can cut them.
import { once } from "node:events";
import { create, type DescMethod, type DescService } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { type AuthenticatedCall, authorize, callerRoles } from "./auth.js";
import { dropsStream, type GatedNode, passCallFaults } from "./faults.js";
import { methodPath, type StatusError, serviceDefinition, status, toServiceError } from "./grpc.js";
import type {
  BidiImpl,
  CallContext,
  ClientStreamImpl,
  Impls,
  Send,
  ServerStreamImpl,
  UnaryImpl,
} from "./handlers.js";
import type { NodeTls } from "./machine.js";
import { nodeKeyPem } from "./pki.js";
import { rpcAvailable, servedInMaintenance } from "./services/availability.js";
import { ServerStreamWatch } from "./stream-watch.js";

const { status: S } = grpc;

/** What the server reads of the machine it serves. */
export interface ServedMachine extends GatedNode {
  readonly tls: NodeTls;
  readonly state: { readonly version: string; readonly maintenance: boolean };
}

interface ServerCall extends AuthenticatedCall {
  on(event: "cancelled", cb: () => void): unknown;
}

class StreamClosed extends Error {}

/** A real grpc-js server on 127.0.0.1 serving one machine. */
export class NodeServer {
  /** Total bytes sent on server streams (for tests and benchmarks). */
  bytesSent = 0;
  /** Calls addressed to this node per RPC ("/pkg.Service/Method"), refused ones included. */
  readonly calls = new Map<string, number>();
  /** Server streams open on this node, per RPC (for tests of stream cancellation). */
  readonly serverStreams = new ServerStreamWatch();
  private server?: grpc.Server;
  private port = 0;
  private readonly active = new Set<{ kill: (e: StatusError) => void }>();

  constructor(
    private readonly machine: ServedMachine,
    private readonly services: DescService[],
    private readonly impls: Impls,
  ) {}

  /** `127.0.0.1:<port>` of the server. */
  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Bind and serve. */
  async start(): Promise<void> {
    const server = new grpc.Server({ "grpc.max_receive_message_length": 32 * 1024 * 1024 });
    for (const svc of this.services)
      server.addService(serviceDefinition(svc), this.handlersFor(svc));
    const { caPem, certPem, keyPem } = this.machine.tls;
    const keys = [
      { private_key: Buffer.from(nodeKeyPem(keyPem)), cert_chain: Buffer.from(certPem) },
    ];
    const creds = caPem
      ? grpc.ServerCredentials.createSsl(Buffer.from(caPem), keys, true)
      : grpc.ServerCredentials.createSsl(null, keys, false);
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${this.port}`, creds, (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    this.server = server;
  }

  /** Stop serving, ending all calls. */
  async stop(): Promise<void> {
    this.cutStreams("node is shutting down");
    const server = this.server;
    this.server = undefined;
    if (server) server.forceShutdown();
  }

  /** End every open stream with Unavailable. */
  cutStreams(why: string): void {
    for (const a of [...this.active]) a.kill(status(S.UNAVAILABLE, why));
  }

  /** Count a call addressed to this node (the router counts the ones it forwards or refuses). */
  countCall(path: string): void {
    this.calls.set(path, (this.calls.get(path) ?? 0) + 1);
  }

  private async guard(m: DescMethod, call: ServerCall): Promise<CallContext> {
    if (call.metadata.get("proxyfrom").length === 0) this.countCall(methodPath(m));
    await passCallFaults(this.machine);
    const svc = m.parent.typeName;
    const { version, maintenance } = this.machine.state;
    if (!rpcAvailable(svc, m.name, version))
      throw status(S.UNIMPLEMENTED, `unknown service ${svc}`);
    if (maintenance && !servedInMaintenance(svc, m.name, version))
      throw status(S.UNIMPLEMENTED, "API is not implemented in maintenance mode");
    const roles = callerRoles(call, Boolean(this.machine.tls.caPem));
    authorize(roles, svc, m.name);
    const ac = new AbortController();
    call.on("cancelled", () => ac.abort());
    return { roles, metadata: call.metadata, signal: ac.signal };
  }

  private handlersFor(svc: DescService): grpc.UntypedServiceImplementation {
    const out: grpc.UntypedServiceImplementation = {};
    for (const m of svc.methods) {
      const kind = m.methodKind;
      if (kind === "unary") out[m.name] = this.unary(m);
      else if (kind === "server_streaming") out[m.name] = this.serverStream(m);
      else if (kind === "client_streaming") out[m.name] = this.clientStream(m);
      else out[m.name] = this.bidi(m);
    }
    return out;
  }

  /** The implementation of a method, or Unimplemented. */
  private impl<T>(m: DescMethod): T {
    const impl = this.impls[methodPath(m)];
    if (!impl) throw status(S.UNIMPLEMENTED, `method ${m.name} not implemented`);
    return impl as T;
  }

  private unary(m: DescMethod) {
    return (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      void (async () => {
        try {
          const ctx = await this.guard(m, call);
          const res = await this.impl<UnaryImpl>(m)(call.request as never, ctx);
          cb(null, create(m.output, res as never));
        } catch (e) {
          cb(toServiceError(e));
        }
      })();
    };
  }

  private serverStream(m: DescMethod) {
    return (call: grpc.ServerWritableStream<unknown, unknown>) => {
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
        if (dropsStream(this.machine.faults, sent, size)) {
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
          await this.impl<ServerStreamImpl>(m)(
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
  }

  private clientStream(m: DescMethod) {
    return (call: grpc.ServerReadableStream<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      void (async () => {
        try {
          const ctx = await this.guard(m, call);
          const res = await this.impl<ClientStreamImpl>(m)(
            call as unknown as AsyncIterable<never>,
            ctx,
          );
          cb(null, create(m.output, res as never));
        } catch (e) {
          cb(toServiceError(e));
        }
      })();
    };
  }

  private bidi(m: DescMethod) {
    return (call: grpc.ServerDuplexStream<unknown, unknown>) => {
      void (async () => {
        try {
          const ctx = await this.guard(m, call);
          const impl = this.impl<BidiImpl>(m);
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
          await impl(input, ctx, send);
          call.end();
        } catch (e) {
          if (e instanceof StreamClosed) return;
          call.emit("error", toServiceError(e));
        }
      })();
    };
  }
}
