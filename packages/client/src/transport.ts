// gRPC over HTTP/2 and TLS to Talos endpoints: one HTTP/2 session per
// endpoint, reused by every call; failover to the next endpoint when one
// cannot be reached; Talos metadata on every call; errors typed on the way out.
import type { ClientHttp2Stream, Http2Session, SecureClientSessionOptions } from "node:http2";
import { isIP } from "node:net";
import { Duplex } from "node:stream";
import {
  type ConnectionOptions,
  checkServerIdentity,
  type PeerCertificate,
  connect as tlsConnect,
} from "node:tls";
import type { DescMessage, DescMethod } from "@bufbuild/protobuf";
import {
  type ContextValues,
  createContextKey,
  type Interceptor,
  type StreamResponse,
  type Transport,
  type UnaryResponse,
} from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { spkiFingerprint } from "./credentials.js";
import {
  ConnectionError,
  connectionErrorFrom,
  isConnectFailure,
  TalosError,
  toTalosError,
} from "./errors.js";

/** Talos servers and clients limit messages to 32 MiB. */
export const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;
/** The apid port used when an endpoint names none. */
export const DEFAULT_PORT = 50000;
/** HTTP/2 receive window of each stream (SETTINGS_INITIAL_WINDOW_SIZE). */
export const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
/**
 * HTTP/2 receive window of each connection. It stays at 64 KiB unless raised
 * with a WINDOW_UPDATE, whatever the stream window: a 64 KiB window is smaller
 * than one 64 KiB Data message and its framing, so the server would stop and
 * wait for a round trip on every message of a byte stream.
 */
export const CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;

/** Context key carrying the target node of a call (sent as `node` metadata). */
export const NODE_KEY = createContextKey<string | undefined>(undefined, {
  description: "talos node",
});
/** Context key naming the node in errors without sending `node` metadata (maintenance mode). */
export const NODE_LABEL_KEY = createContextKey<string | undefined>(undefined, {
  description: "talos node label",
});
/** Context key carrying legacy multi-node targets (sent as deprecated `nodes` metadata). */
export const LEGACY_NODES_KEY = createContextKey<string[] | undefined>(undefined, {
  description: "talos nodes (deprecated)",
});

/** Normalizes an endpoint as talosctl does: bare host gets :50000, https://host gets :443. */
export function normalizeEndpoint(endpoint: string): { host: string; port: number; id: string } {
  let rest = endpoint.trim();
  let defaultPort = DEFAULT_PORT;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(rest);
  if (scheme) {
    if (scheme[1]?.toLowerCase() === "https") defaultPort = 443;
    rest = rest.slice(scheme[0].length).replace(/\/.*$/, "");
  }
  let host = rest;
  let port = defaultPort;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (v6?.[1]) {
    host = v6[1];
    if (v6[2]) port = Number(v6[2]);
  } else if (isIP(rest) === 6) {
    host = rest;
  } else {
    const m = /^(.*):(\d+)$/.exec(rest);
    if (m?.[1] && m[2]) {
      host = m[1];
      port = Number(m[2]);
    }
  }
  if (!host || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new TalosError("INVALID_ARGUMENT", `endpoint "${endpoint}" is not a valid host[:port]`);
  }
  const id = isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
  return { host, port, id };
}

/** TLS settings of a connection to Talos. */
export interface TlsSettings {
  /** CA bundle (PEM) that must have signed the server certificate. */
  ca?: string | undefined;
  /** Client certificate (PEM). */
  cert?: string | undefined;
  /** Client key (PEM, OpenSSL-compatible label). */
  key?: string | undefined;
  /** Verify the server certificate against this name instead of the endpoint host. */
  serverName?: string | undefined;
  /** Maintenance mode: accept a server whose leaf SPKI fingerprint (base64 SHA-256) is listed. */
  fingerprints?: string[] | undefined;
  /** Maintenance mode: accept any server certificate. */
  skipVerification?: boolean | undefined;
}

/** Connection behaviour knobs. */
export interface TransportSettings {
  /** HTTP/2 PING interval for keepalive (default 10 s). */
  keepaliveIntervalMs?: number;
  /** Close the connection when a PING is not answered in time (default 5 s). */
  keepaliveTimeoutMs?: number;
}

function fingerprintMismatch(): Error {
  const err = new Error("server certificate does not match a pinned SPKI fingerprint");
  (err as NodeJS.ErrnoException).code = "ERR_TALOS_FINGERPRINT_MISMATCH";
  return err;
}

/** Builds the node:http2 / node:tls options for one endpoint. */
export function buildTlsOptions(
  host: string,
  tls: TlsSettings,
  onSocketError: (err: Error) => void = () => {},
  isTrusted: () => boolean = () => false,
): SecureClientSessionOptions {
  const options: SecureClientSessionOptions = {
    ALPNProtocols: ["h2"],
    minVersion: "TLSv1.2",
    maxSessionMemory: 64,
    settings: { initialWindowSize: STREAM_WINDOW_BYTES, maxFrameSize: 1024 * 1024 },
  };
  if (tls.cert && tls.key) {
    options.cert = tls.cert;
    options.key = tls.key;
  }
  const sni = tls.serverName ?? host;
  if (isIP(sni) === 0) options.servername = sni;
  if (tls.fingerprints?.length || tls.skipVerification) {
    // The maintenance certificate is self-signed: no chain to verify, so the
    // key is pinned instead, checked as soon as the handshake completes and
    // before HTTP/2 uses the socket.
    const pins = new Set(tls.fingerprints ?? []);
    const skip = Boolean(tls.skipVerification);
    options.createConnection = (authority: URL) =>
      pinnedConnection(
        {
          host: authority.hostname.replace(/^\[|\]$/g, ""),
          port: Number(authority.port) || DEFAULT_PORT,
          ALPNProtocols: ["h2"],
          servername: options.servername,
          rejectUnauthorized: false,
          minVersion: "TLSv1.2",
        },
        skip ? undefined : pins,
        onSocketError,
      );
    return options;
  }
  options.rejectUnauthorized = true;
  if (tls.ca) options.ca = tls.ca;
  if (tls.serverName) {
    const name = tls.serverName;
    options.checkServerIdentity = (_host: string, peer: PeerCertificate) =>
      checkServerIdentity(name, peer);
  }
  // Our own TLS socket, so that handshake failures (such as the server
  // refusing the client certificate) are seen with their real reason.
  const tlsOptions = { ...options } as ConnectionOptions;
  options.createConnection = (authority: URL) => {
    const socket = tlsConnect({
      ...tlsOptions,
      host: authority.hostname.replace(/^\[|\]$/g, ""),
      port: Number(authority.port) || DEFAULT_PORT,
    });
    socket.on("error", onSocketError);
    let secureAt = 0;
    socket.once("secureConnect", () => {
      secureAt = Date.now();
    });
    socket.once("close", () => {
      // Closed right after a completed handshake, before any answer: with
      // TLS 1.3 that is how a server refusing the client certificate looks.
      if (secureAt && Date.now() - secureAt < 2_000 && tls.cert && !isTrusted()) {
        const err = new Error("the server closed the connection right after the TLS handshake");
        (err as NodeJS.ErrnoException).code = "ERR_SSL_TALOS_CLOSED_AFTER_HANDSHAKE_ALERT";
        onSocketError(err);
      }
    });
    return socket;
  };
  return options;
}

/**
 * A TLS connection that HTTP/2 only sees once the server's key matched a pin:
 * node:tls cannot verify a pin during the handshake, so HTTP/2 runs over a
 * stream that is released after the check and fails with a typed error
 * otherwise. Nothing is written to an unverified server.
 */
function pinnedConnection(
  opts: ConnectionOptions,
  pins: Set<string> | undefined,
  onSocketError: (err: Error) => void,
): Duplex {
  const socket = tlsConnect(opts);
  const outer = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk, _enc, cb) {
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end();
      cb();
    },
    destroy(err, cb) {
      socket.destroy();
      cb(err);
    },
  });
  const state = outer as Duplex & { secureConnecting?: boolean; encrypted?: boolean };
  state.secureConnecting = true;
  state.encrypted = true;
  socket.on("data", (chunk: Buffer) => {
    if (!outer.push(chunk)) socket.pause();
  });
  socket.on("end", () => outer.push(null));
  socket.on("error", (err) => {
    onSocketError(err);
    outer.destroy();
  });
  socket.once("secureConnect", () => {
    const peer = socket.getPeerX509Certificate();
    if (pins && (!peer || !pins.has(spkiFingerprint(peer)))) {
      // node:http2 would report an error on this socket twice, once with no
      // listener; the reason is handed over through onSocketError instead.
      onSocketError(fingerprintMismatch());
      outer.destroy();
      return;
    }
    state.secureConnecting = false;
    outer.emit("secureConnect");
  });
  return outer;
}

/** A session manager that raises the connection window of every session it opens and guards its errors. */
class WideWindowSessionManager extends Http2SessionManager {
  private readonly widened = new WeakSet<Http2Session>();

  override async request(
    ...args: Parameters<Http2SessionManager["request"]>
  ): Promise<ClientHttp2Stream> {
    const headers = args[2];
    const nodes = headers.nodes;
    // connect-es hands over a fetch Headers, which joins the values of a repeated
    // name with ", ": apid (grpc-go) would read "a, b" as one node. Each node
    // becomes a header field of its own again (node names hold no commas: the
    // interceptor refuses those).
    if (typeof nodes === "string" && nodes.includes(",")) {
      args[2] = { ...headers, nodes: nodes.split(",").map((n) => n.trim()) };
    }
    const stream = await super.request(...args);
    const session = stream.session;
    if (session && !this.widened.has(session)) {
      this.widened.add(session);
      // The manager stops listening for errors once a session closes; an error that
      // comes after that (a GOAWAY on an idle connection, as a restarting apid sends)
      // would otherwise be thrown as uncaught. Calls learn of failures from their streams.
      session.on("error", () => {});
      try {
        session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
      } catch {
        // A session closing under us: the call fails on its own.
      }
    }
    return stream;
  }
}

interface EndpointEntry {
  id: string;
  manager: Http2SessionManager;
  transport: Transport;
  /** Whether a call on this endpoint ever got an answer. */
  answered?: boolean;
  /** The last socket-level error, which explains a call that failed without a status. */
  socketError?: { err: Error; at: number } | undefined;
}

/**
 * A Transport over several endpoints: every call goes to the endpoint that
 * last worked; when an endpoint cannot be reached (no request was sent), the
 * call moves on to the next one. Client-streaming and bidi calls never move.
 */
export class TalosTransport implements Transport {
  private readonly entries: EndpointEntry[];
  /** The entries in the order calls try them: the preferred one first. Rebuilt when it changes. */
  private ordered: readonly EndpointEntry[];

  constructor(endpoints: string[], tls: TlsSettings, settings: TransportSettings = {}) {
    if (endpoints.length === 0) {
      throw new TalosError("INVALID_ARGUMENT", "no endpoints: give at least one endpoint");
    }
    this.entries = endpoints.map((raw) => {
      const { host, port, id } = normalizeEndpoint(raw);
      const url = `https://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
      const entry: Partial<EndpointEntry> = { id };
      const nodeOptions = buildTlsOptions(
        host,
        tls,
        (err) => {
          entry.socketError = { err, at: Date.now() };
        },
        () => entry.answered === true,
      );
      const manager = new WideWindowSessionManager(
        url,
        {
          pingIntervalMs: settings.keepaliveIntervalMs ?? 10_000,
          pingTimeoutMs: settings.keepaliveTimeoutMs ?? 5_000,
          pingIdleConnection: false,
          idleConnectionTimeoutMs: 5 * 60_000,
        },
        nodeOptions,
      );
      const transport = createGrpcTransport({
        baseUrl: url,
        sessionManager: manager,
        readMaxBytes: MAX_MESSAGE_BYTES,
        writeMaxBytes: MAX_MESSAGE_BYTES,
        acceptCompression: [],
        interceptors: [talosInterceptor(id)],
      });
      entry.manager = manager;
      entry.transport = transport;
      return entry as EndpointEntry;
    });
    this.ordered = this.entries;
  }

  /** Replaces an error that carries no server status by the socket error that explains it. */
  private async explain(
    entry: EndpointEntry,
    error: unknown,
    signal: AbortSignal | undefined,
    contextValues?: ContextValues,
  ): Promise<unknown> {
    if (!entry.socketError && !signal?.aborted && toTalosError(error, {}).code === "CANCELED") {
      // A server refusing our certificate in TLS 1.3 says so with an alert that
      // can arrive just after HTTP/2 gave up on the stream: wait for it briefly.
      await new Promise((r) => setTimeout(r, 100));
    }
    const recent = entry.socketError;
    entry.socketError = undefined;
    if (!recent || Date.now() - recent.at > 10_000) return error;
    const current = toTalosError(error, {});
    if (
      current instanceof ConnectionError ||
      !["CANCELED", "UNAVAILABLE", "INTERNAL", "UNKNOWN"].includes(current.code)
    ) {
      return error;
    }
    const node = contextValues?.get(NODE_KEY) ?? contextValues?.get(NODE_LABEL_KEY);
    return connectionErrorFrom(recent.err, { endpoint: entry.id, node }) ?? error;
  }

  /** The normalized endpoints ("host:port"), in configured order. */
  get endpoints(): string[] {
    return this.entries.map((e) => e.id);
  }

  private order(): readonly EndpointEntry[] {
    return this.ordered;
  }

  /** Makes `entry` the one that calls try first. */
  private prefer(entry: EndpointEntry): void {
    if (this.ordered[0] === entry) return;
    const i = this.entries.indexOf(entry);
    if (i < 0) return;
    this.ordered = [...this.entries.slice(i), ...this.entries.slice(0, i)];
  }

  async unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethod & { methodKind: "unary"; input: I; output: O },
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: ConstructorParameters<typeof Headers>[0] | undefined,
    input: unknown,
    contextValues?: ContextValues,
  ): Promise<UnaryResponse<I, O>> {
    let last: unknown;
    for (const entry of this.order()) {
      try {
        const res = await entry.transport.unary(
          method,
          signal,
          timeoutMs,
          header,
          // biome-ignore lint/suspicious/noExplicitAny: delegating the generic transport signature
          input as any,
          contextValues,
        );
        this.prefer(entry);
        entry.socketError = undefined;
        entry.answered = true;
        return res as UnaryResponse<I, O>;
      } catch (caught) {
        const error = await this.explain(entry, caught, signal, contextValues);
        last = error;
        if (signal?.aborted || !isConnectFailure(error)) throw error;
      }
    }
    throw last;
  }

  async stream<I extends DescMessage, O extends DescMessage>(
    method: DescMethod & { input: I; output: O },
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: ConstructorParameters<typeof Headers>[0] | undefined,
    input: AsyncIterable<unknown>,
    contextValues?: ContextValues,
  ): Promise<StreamResponse<I, O>> {
    const movable = method.methodKind === "server_streaming";
    let replay: unknown[] | undefined;
    if (movable) {
      replay = [];
      for await (const m of input) replay.push(m);
    }
    const entries = movable ? this.order() : this.order().slice(0, 1);
    let last: unknown;
    for (const entry of entries) {
      const source = replay ? iterate(replay) : input;
      try {
        const res = await entry.transport.stream(
          // biome-ignore lint/suspicious/noExplicitAny: delegating the generic transport signature
          method as any,
          signal,
          timeoutMs,
          header,
          // biome-ignore lint/suspicious/noExplicitAny: delegating the generic transport signature
          source as any,
          contextValues,
        );
        this.prefer(entry);
        entry.answered = true;
        return res as StreamResponse<I, O>;
      } catch (caught) {
        const error = await this.explain(entry, caught, signal, contextValues);
        last = error;
        if (signal?.aborted || !isConnectFailure(error)) throw error;
      }
    }
    throw last;
  }

  /** Closes every HTTP/2 session. Calls in flight are aborted. */
  close(): void {
    for (const e of this.entries) e.manager.abort();
  }
}

async function* iterate<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

function procedureOf(method: DescMethod): string {
  return `${method.parent.typeName}/${method.name}`;
}

/** Adds Talos metadata, strips headers only apid may set, and types every error. */
export function talosInterceptor(endpoint: string): Interceptor {
  return (next) => async (req) => {
    const node = req.contextValues.get(NODE_KEY);
    const legacy = req.contextValues.get(LEGACY_NODES_KEY);
    req.header.delete("proxyfrom");
    req.header.delete("talos-role");
    req.header.delete("node");
    req.header.delete("nodes");
    req.header.set("runtime", "Talos");
    if (node) req.header.set("node", node);
    else if (legacy?.length) {
      const bad = legacy.find((n) => !n.trim() || n.includes(","));
      if (bad !== undefined) {
        throw new TalosError(
          "INVALID_ARGUMENT",
          `legacyNodes: ${JSON.stringify(bad)} is not a node name (empty, or holds a comma)`,
        );
      }
      // One value per node; the session manager sends each as a header field of its own.
      for (const n of legacy) req.header.append("nodes", n.trim());
    }
    const ctx = {
      node: node ?? req.contextValues.get(NODE_LABEL_KEY),
      endpoint,
      procedure: procedureOf(req.method),
    };
    try {
      const res = await next(req);
      if (!res.stream) return res;
      return { ...res, message: mapErrors(res.message, ctx) };
    } catch (error) {
      throw toTalosError(error, ctx);
    }
  };
}

async function* mapErrors<T>(
  source: AsyncIterable<T>,
  ctx: { node?: string | undefined; endpoint: string; procedure: string },
): AsyncGenerator<T> {
  try {
    yield* source;
  } catch (error) {
    throw toTalosError(error, ctx);
  }
}

export { ConnectionError };
