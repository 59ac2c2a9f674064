// The Talos transport: connect-es's gRPC protocol over one HTTP/2 session per
// endpoint, with failover between endpoints, and the Talos behaviour as
// interceptors a caller can add to: retries, typed errors and node metadata.
//
// A call goes: service client (connect-es createClient) -> TalosTransport
// (default unary timeout) -> the caller's interceptors -> retry -> error typing
// -> node metadata -> failover between endpoint sessions -> TLS -> the wire.
import { setMaxListeners } from "node:events";
import type { DescMessage, DescMethod, MessageInitShape } from "@bufbuild/protobuf";
import type {
  ContextValues,
  Interceptor,
  StreamResponse,
  Transport,
  UnaryResponse,
} from "@connectrpc/connect";
import { NODE_KEY, OUTCOME_KEY, withContextValue } from "./context.js";
import { prepareCredentials } from "./credentials.js";
import { type Endpoint, normalizeEndpoint } from "./endpoint.js";
import { type ExplainError, errorInterceptor } from "./error-interceptor.js";
import { carriedTalosError, clientClosedError, TalosError, toTalosError } from "./errors.js";
import { failoverClient } from "./failover.js";
import { grpcTransport } from "./grpc-protocol.js";
import { metadataInterceptor } from "./metadata.js";
import { retryInterceptor } from "./retry.js";
import type { RetrySetting } from "./retry-policy.js";
import { EndpointSession, type TransportSettings } from "./session.js";
import type { TlsSettings } from "./tls.js";

/** Talos servers and clients limit messages to 32 MiB. */
export const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

/** Options of createTalosTransport(). */
export interface TalosTransportOptions extends TransportSettings {
  /** Endpoints ("host", "host:port", "https://host"); calls go to the first reachable one. */
  endpoints: readonly string[];
  /** Certificates, keys and pins. */
  tls: TlsSettings;
  /**
   * Interceptors of the caller (logging, tracing, metrics), outermost first.
   * They see every call once, whatever the retries and failovers below them,
   * and its errors as TalosErrors.
   */
  interceptors?: readonly Interceptor[] | undefined;
  /** Default timeout of unary calls in milliseconds (default 60 s; streams have none). */
  defaultTimeoutMs?: number | undefined;
  /** Retries of read-only calls after transient failures (default: DEFAULT_RETRY; false for none). */
  retry?: RetrySetting | undefined;
  /** A node in maintenance mode: no node metadata, and errors name the endpoint. */
  maintenance?: boolean | undefined;
  /** Adds what the caller knows to typed errors (the roles a call needs, the node's version). */
  explainError?: ExplainError | undefined;
  /** Called when an endpoint's server drops its connection (GOAWAY): its nodes may have restarted. */
  onConnectionDropped?: (() => void) | undefined;
}

/** A connect-es Transport to Talos endpoints. */
export class TalosTransport implements Transport {
  /** The normalized endpoints ("host:port"), in configured order. */
  readonly endpoints: readonly string[];
  private readonly sessions: readonly EndpointSession[];
  private readonly grpc: Transport;
  private readonly defaultTimeoutMs: number;
  private readonly label: string | undefined;
  private closed = false;

  constructor(options: TalosTransportOptions) {
    if (options.endpoints.length === 0) {
      throw new TalosError("INVALID_ARGUMENT", "no endpoints: give at least one endpoint");
    }
    const endpoints: Endpoint[] = options.endpoints.map(normalizeEndpoint);
    const dropped = options.onConnectionDropped ?? (() => {});
    this.endpoints = endpoints.map((e) => e.id);
    this.sessions = endpoints.map((e) => new EndpointSession(e, options.tls, options, dropped));
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 60_000;
    this.label = options.maintenance ? this.endpoints[0] : undefined;
    this.grpc = grpcTransport({
      httpClient: failoverClient(this.sessions, this.label),
      baseUrl: endpoints[0]?.url ?? "",
      maxMessageBytes: MAX_MESSAGE_BYTES,
      interceptors: [
        ...(options.interceptors ?? []),
        retryInterceptor(options.retry),
        errorInterceptor({
          label: this.label,
          explain: options.explainError,
        }),
        metadataInterceptor({ maintenance: options.maintenance }),
      ],
    });
  }

  async unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethod & { methodKind: "unary"; input: I; output: O },
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: ConstructorParameters<typeof Headers>[0] | undefined,
    input: MessageInitShape<I>,
    contextValues?: ContextValues,
  ): Promise<UnaryResponse<I, O>> {
    watchedBy(signal);
    const outcome: { error?: unknown } = {};
    const ctx = withContextValue(contextValues, OUTCOME_KEY, outcome);
    this.refuseWhenClosed(method, ctx);
    try {
      return await this.grpc.unary(
        method,
        signal,
        timeoutMs ?? this.defaultTimeoutMs,
        header,
        input,
        ctx,
      );
    } catch (error) {
      throw this.typed(error, method, ctx);
    }
  }

  async stream<I extends DescMessage, O extends DescMessage>(
    method: DescMethod & { input: I; output: O },
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: ConstructorParameters<typeof Headers>[0] | undefined,
    input: AsyncIterable<MessageInitShape<I>>,
    contextValues?: ContextValues,
  ): Promise<StreamResponse<I, O>> {
    watchedBy(signal);
    const outcome: { error?: unknown } = {};
    const ctx = withContextValue(contextValues, OUTCOME_KEY, outcome);
    const typed = (error: unknown) => this.typed(error, method, ctx);
    this.refuseWhenClosed(method, ctx);
    try {
      const res = await this.grpc.stream(
        // biome-ignore lint/suspicious/noExplicitAny: delegating the generic transport signature
        method as any,
        signal,
        timeoutMs,
        header,
        input,
        ctx,
      );
      return { ...res, message: typedStream(res.message, typed) } as unknown as StreamResponse<
        I,
        O
      >;
    } catch (error) {
      throw typed(error);
    }
  }

  /**
   * The typed error of a failed call: the one the error interceptor made, which
   * connect-es carries as the cause of its own, or, for what connect-es decides
   * itself (the caller's abort, the deadline), one made here.
   */
  private typed(error: unknown, method: DescMethod, ctx: ContextValues): TalosError {
    // Whatever the failure looked like below (calls cut by close(), a retry
    // refused), a call of a closed client failed because it was closed.
    if (this.closed) return this.closedError(method, ctx);
    const carried = carriedTalosError(error);
    if (carried) return carried;
    // connect-es made this error itself, because the call's signal fired (an
    // abort or the deadline). The interceptors' last typed error says more
    // when it says the same thing.
    const own = toTalosError(error, {
      node: this.label ?? ctx.get(NODE_KEY),
      procedure: `${method.parent.typeName}/${method.name}`,
    });
    const last = ctx.get(OUTCOME_KEY)?.error;
    return last instanceof TalosError && last.code === own.code ? last : own;
  }

  private closedError(method: DescMethod, ctx: ContextValues): TalosError {
    return clientClosedError(
      `${method.parent.typeName}/${method.name}`,
      this.label ?? ctx.get(NODE_KEY),
    );
  }

  /** A call on a closed transport fails at once (it would otherwise reconnect). */
  private refuseWhenClosed(method: DescMethod, ctx: ContextValues): void {
    if (this.closed) throw this.closedError(method, ctx);
  }

  /**
   * Closes every HTTP/2 session. Calls in flight are aborted, and calls made
   * afterwards fail at once with CANCELED. Closing again does nothing.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sessions) s.close();
  }
}

/**
 * A transport to Talos endpoints for `createClient(Service, transport)` of
 * connect-es. Credentials are checked and prepared as TalosClient does (Talos's
 * "ED25519 PRIVATE KEY" labels are accepted).
 */
export function createTalosTransport(options: TalosTransportOptions): TalosTransport {
  const { ca, cert, key } = options.tls;
  const pinned = options.tls.fingerprints?.length || options.tls.skipVerification;
  if (pinned) return new TalosTransport(options);
  const pem = prepareCredentials({ ca, cert, key });
  const tls = { ...options.tls, ca: pem.ca, cert: pem.cert, key: pem.key };
  return new TalosTransport({ ...options, tls });
}

async function* typedStream<T>(
  source: AsyncIterable<T>,
  typed: (error: unknown) => TalosError,
): AsyncGenerator<T> {
  try {
    yield* source;
  } catch (error) {
    throw typed(error);
  }
}

/**
 * One signal often serves many calls at once (a deadline over a node's reads,
 * a fan-out): each call listens on it, which is no leak, so Node's warning
 * limit is lifted for it.
 */
function watchedBy(signal: AbortSignal | undefined): void {
  if (signal) setMaxListeners(0, signal);
}
