// One HTTP/2 session per endpoint, shared by every call to it: wide flow-control
// windows for byte streams, keepalive pings, and the socket-level reason of a
// failure kept at hand to explain calls that failed without a gRPC status.
import type { ClientHttp2Stream, Http2Session } from "node:http2";
import type { UniversalClientFn } from "@connectrpc/connect/protocol";
import { createNodeHttpClient, Http2SessionManager } from "@connectrpc/connect-node";
import type { Endpoint } from "./endpoint.js";
import { ConnectionError, connectionErrorFrom, toTalosError } from "./errors.js";
import { buildTlsOptions, type TlsSettings } from "./tls.js";

/**
 * HTTP/2 receive window of each connection. It stays at 64 KiB unless raised
 * with a WINDOW_UPDATE, whatever the stream window: a 64 KiB window is smaller
 * than one 64 KiB Data message and its framing, so the server would stop and
 * wait for a round trip on every message of a byte stream.
 */
export const CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;

/** Connection behaviour knobs. */
export interface TransportSettings {
  /** HTTP/2 PING interval for keepalive (default 10 s). */
  keepaliveIntervalMs?: number;
  /** Close the connection when a PING is not answered in time (default 5 s). */
  keepaliveTimeoutMs?: number;
}

/** A session manager that raises the connection window of every session it opens and guards its errors. */
class WideWindowSessionManager extends Http2SessionManager {
  private readonly widened = new WeakSet<Http2Session>();
  constructor(
    url: string,
    pingOptions: ConstructorParameters<typeof Http2SessionManager>[1],
    http2Options: ConstructorParameters<typeof Http2SessionManager>[2],
    private readonly onDropped: () => void,
  ) {
    super(url, pingOptions, http2Options);
  }

  override async request(
    ...args: Parameters<Http2SessionManager["request"]>
  ): Promise<ClientHttp2Stream> {
    const headers = args[2];
    const nodes = headers.nodes;
    // connect-es hands over a fetch Headers, which joins the values of a repeated
    // name with ", ": apid (grpc-go) would read "a, b" as one node. Each node
    // becomes a header field of its own again (node names hold no commas: the
    // metadata interceptor refuses those).
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
      // A node that sends GOAWAY is restarting: what was known of it may have changed.
      session.once("goaway", this.onDropped);
      try {
        session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
      } catch {
        // A session closing under us: the call fails on its own.
      }
    }
    return stream;
  }
}

/** Calls to one endpoint, and what its socket said when something went wrong. */
export class EndpointSession {
  /** Sends one HTTP/2 request on this endpoint's session. */
  readonly request: UniversalClientFn;
  /** Whether a call on this endpoint ever got an answer. */
  answered = false;
  /** Whether close() was called: no request is sent any more. */
  closed = false;
  private readonly manager: WideWindowSessionManager;
  private socketError: { err: Error; at: number } | undefined;

  constructor(
    readonly endpoint: Endpoint,
    tls: TlsSettings,
    settings: TransportSettings,
    onDropped: () => void,
  ) {
    const nodeOptions = buildTlsOptions(
      endpoint.host,
      tls,
      (err) => {
        this.socketError = { err, at: Date.now() };
      },
      () => this.answered,
    );
    this.manager = new WideWindowSessionManager(
      endpoint.url,
      {
        pingIntervalMs: settings.keepaliveIntervalMs ?? 10_000,
        pingTimeoutMs: settings.keepaliveTimeoutMs ?? 5_000,
        pingIdleConnection: false,
        idleConnectionTimeoutMs: 5 * 60_000,
      },
      nodeOptions,
      onDropped,
    );
    this.request = createNodeHttpClient({ httpVersion: "2", sessionProvider: () => this.manager });
  }

  /**
   * The error to report for a failed request: the socket error that explains
   * a failure without a server status (a refused handshake, a pin mismatch),
   * or the error itself.
   */
  async explain(error: unknown, signal: AbortSignal | undefined, node: string | undefined) {
    if (!this.socketError && !signal?.aborted && toTalosError(error).code === "CANCELED") {
      // A server refusing our certificate in TLS 1.3 says so with an alert that
      // can arrive just after HTTP/2 gave up on the stream: wait for it briefly.
      await new Promise((r) => setTimeout(r, 100));
    }
    const recent = this.socketError;
    this.socketError = undefined;
    if (!recent || Date.now() - recent.at > 10_000) return error;
    const current = toTalosError(error);
    if (
      current instanceof ConnectionError ||
      !["CANCELED", "UNAVAILABLE", "INTERNAL", "UNKNOWN"].includes(current.code)
    ) {
      return error;
    }
    return connectionErrorFrom(recent.err, { endpoint: this.endpoint.id, node }) ?? error;
  }

  /** A request got an answer: the socket is good. */
  succeeded(): void {
    this.answered = true;
    this.socketError = undefined;
  }

  /** Closes the session; calls in flight are aborted. */
  close(): void {
    this.closed = true;
    this.manager.abort();
  }
}
