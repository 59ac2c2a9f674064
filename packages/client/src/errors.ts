// What the client can fail at, on the TalosError base of @taloskit/core: each
// error has the `node` it concerns when there is one and the underlying `cause`.
import { Code, ConnectError } from "@connectrpc/connect";

import { TalosError, type TalosErrorCode, type TalosErrorOptions } from "@taloskit/core";

export { TalosError, type TalosErrorCode, type TalosErrorOptions };

/** The talosconfig could not be found, parsed or used. */
export class TalosconfigError extends TalosError {
  override readonly name: string = "TalosconfigError";
  /** Stable, machine-readable code. */
  declare readonly code: TalosErrorCode;
  /** The file the problem is in, when there is one. */
  readonly path: string | undefined;
  constructor(
    code: TalosErrorCode,
    message: string,
    options: TalosErrorOptions & { path?: string | undefined } = {},
  ) {
    super(code, message, options);
    this.path = options.path;
  }
}

/** A CA, certificate or key is malformed, of the wrong type, mismatched or expired. */
export class CredentialsError extends TalosError {
  override readonly name: string = "CredentialsError";
  /** Stable, machine-readable code. */
  declare readonly code: TalosErrorCode;
  /** Which credential: "ca", "crt" or "key" (the talosconfig field names). */
  readonly field: "ca" | "crt" | "key" | undefined;
  constructor(
    code: TalosErrorCode,
    message: string,
    options: TalosErrorOptions & { field?: "ca" | "crt" | "key" } = {},
  ) {
    super(code, message, options);
    this.field = options.field;
  }
}

/**
 * Connecting failed: endpoint unreachable, or the TLS handshake was refused;
 * or the endpoint went away under a call (code UNAVAILABLE: a restarting
 * server refusing the request or closing the connection).
 */
export class ConnectionError extends TalosError {
  override readonly name: string = "ConnectionError";
  /** Stable, machine-readable code. */
  declare readonly code: TalosErrorCode;
  /** The endpoint ("host:port") the connection was for. */
  readonly endpoint: string | undefined;
  /**
   * True when no server processed the request: the connection was never made,
   * or the server refused the request before handling it (HTTP/2 REFUSED_STREAM,
   * a GOAWAY). Sending it again is safe whatever the call does.
   */
  readonly unprocessed: boolean;
  constructor(
    code: TalosErrorCode,
    message: string,
    options: TalosErrorOptions & {
      endpoint?: string | undefined;
      unprocessed?: boolean | undefined;
    } = {},
  ) {
    super(code, message, options);
    this.endpoint = options.endpoint;
    this.unprocessed = options.unprocessed ?? false;
  }
}

/** A call reached a node and the node answered with a gRPC error status. */
export class RpcError extends TalosError {
  override readonly name: string = "RpcError";
  /** Stable, machine-readable code. */
  declare readonly code: TalosErrorCode;
}

/** The caller's certificate lacks a role the call needs. */
export class PermissionDeniedError extends RpcError {
  override readonly name: string = "PermissionDeniedError";
  /** Roles that allow the call, when known (e.g. ["os:admin", "os:operator"]). */
  readonly requiredRoles: readonly string[] | undefined;
  constructor(
    message: string,
    options: TalosErrorOptions & { requiredRoles?: readonly string[] | undefined },
  ) {
    super("PERMISSION_DENIED", message, options);
    this.requiredRoles = options.requiredRoles;
  }
}

/** The node does not implement the call (often: its Talos version predates it). */
export class UnimplementedError extends RpcError {
  override readonly name: string = "UnimplementedError";
  /** The node's Talos version, when it could be read. */
  readonly nodeVersion: string | undefined;
  /** The first Talos minor version that has the call, when known (e.g. "v1.14"). */
  readonly availableSince: string | undefined;
  constructor(
    message: string,
    options: TalosErrorOptions & {
      nodeVersion?: string | undefined;
      availableSince?: string | undefined;
    },
  ) {
    super("UNIMPLEMENTED", message, options);
    this.nodeVersion = options.nodeVersion;
    this.availableSince = options.availableSince;
  }
}

/** A resource type name could not be resolved to a COSI type. */
export class ResourceTypeError extends TalosError {
  override readonly name: string = "ResourceTypeError";
  /** Stable, machine-readable code. */
  declare readonly code: TalosErrorCode;
}

const CODE_BY_GRPC: Partial<Record<Code, TalosErrorCode>> = {
  [Code.Canceled]: "CANCELED",
  [Code.Unknown]: "UNKNOWN",
  [Code.InvalidArgument]: "INVALID_ARGUMENT",
  [Code.DeadlineExceeded]: "DEADLINE_EXCEEDED",
  [Code.NotFound]: "NOT_FOUND",
  [Code.AlreadyExists]: "ALREADY_EXISTS",
  [Code.PermissionDenied]: "PERMISSION_DENIED",
  [Code.ResourceExhausted]: "RESOURCE_EXHAUSTED",
  [Code.FailedPrecondition]: "FAILED_PRECONDITION",
  [Code.Aborted]: "UNAVAILABLE",
  [Code.OutOfRange]: "INVALID_ARGUMENT",
  [Code.Unimplemented]: "UNIMPLEMENTED",
  [Code.Internal]: "INTERNAL",
  [Code.Unavailable]: "UNAVAILABLE",
  [Code.DataLoss]: "INTERNAL",
  [Code.Unauthenticated]: "UNAUTHENTICATED",
};

/** gRPC code (number) to its lower-case name, e.g. 7 -> "permission_denied". */
export function grpcCodeName(code: Code): string {
  return (Code[code] ?? "unknown").replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

/** Maps a gRPC status code to the client's error code. */
export function talosCodeForGrpc(code: Code): TalosErrorCode {
  return CODE_BY_GRPC[code] ?? "UNKNOWN";
}

/** Node system error codes that mean "could not reach the endpoint". */
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "ECONNRESET",
  "EPIPE",
  "ERR_HTTP2_SESSION_ERROR",
  "ERR_HTTP2_GOAWAY_SESSION",
  "ERR_HTTP2_INVALID_SESSION",
]);

/** TLS verification error codes raised by Node when it refuses the server's certificate. */
const UNTRUSTED_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "INVALID_CA",
]);

function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (current !== undefined && current !== null && chain.length < 8) {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

/** The Node error code (errno-style or OpenSSL) found anywhere in an error's cause chain. */
export function systemErrorCode(error: unknown): string | undefined {
  for (const e of causeChain(error)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && !(e instanceof TalosError)) return code;
  }
  return undefined;
}

/**
 * Classifies a failure to connect (TCP or TLS) into a ConnectionError, or
 * returns undefined when the error is not about connecting.
 */
export function connectionErrorFrom(
  error: unknown,
  ctx: { endpoint?: string | undefined; node?: string | undefined },
): ConnectionError | undefined {
  const sys = systemErrorCode(error);
  if (!sys) return undefined;
  const where = ctx.endpoint ? `endpoint ${ctx.endpoint}` : "the endpoint";
  const opts = { cause: error, node: ctx.node, endpoint: ctx.endpoint };
  if (UNTRUSTED_CODES.has(sys)) {
    return new ConnectionError(
      "TLS_UNTRUSTED_SERVER",
      `the server certificate of ${where} is not signed by a trusted CA (${sys}): check the talosconfig "ca"`,
      opts,
    );
  }
  if (sys === "ERR_TLS_CERT_ALTNAME_INVALID") {
    return new ConnectionError(
      "TLS_HOSTNAME_MISMATCH",
      `the server certificate of ${where} is not valid for that host name: connect by a name or address in its SANs, or set serverName`,
      opts,
    );
  }
  if (sys === "CERT_HAS_EXPIRED" || sys === "CERT_NOT_YET_VALID") {
    return new ConnectionError(
      "TLS_CERT_EXPIRED",
      `the server certificate of ${where} is ${sys === "CERT_HAS_EXPIRED" ? "expired" : "not yet valid"}`,
      opts,
    );
  }
  if (sys === "ERR_TALOS_FINGERPRINT_MISMATCH") {
    return new ConnectionError(
      "TLS_FINGERPRINT_MISMATCH",
      `the server certificate of ${where} does not match any pinned fingerprint`,
      opts,
    );
  }
  if (sys.startsWith("ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED")) {
    return new ConnectionError(
      "CREDENTIALS_EXPIRED",
      `${where} refused the client certificate as expired`,
      opts,
    );
  }
  if (sys.startsWith("ERR_SSL_") && /ALERT|CERTIFICATE_REQUIRED|UNKNOWN_CA|BAD_CERT/.test(sys)) {
    return new ConnectionError(
      "TLS_CLIENT_CERT_REJECTED",
      `${where} refused the TLS handshake (${sys}): is the client certificate issued by the cluster's CA?`,
      opts,
    );
  }
  if (UNREACHABLE_CODES.has(sys)) {
    return new ConnectionError("ENDPOINT_UNREACHABLE", `cannot reach ${where} (${sys})`, {
      ...opts,
      unprocessed: BEFORE_REQUEST_CODES.has(sys) || sys === "ERR_HTTP2_GOAWAY_SESSION",
    });
  }
  if (sys.startsWith("ERR_SSL_") || sys.startsWith("ERR_TLS_")) {
    return new ConnectionError("TLS_UNTRUSTED_SERVER", `TLS with ${where} failed (${sys})`, opts);
  }
  return undefined;
}

const BEFORE_REQUEST_CODES = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
]);

/** A call made on a client after its close(): it fails at once and never reconnects. */
export function clientClosedError(procedure: string, node?: string | undefined): TalosError {
  return new TalosError(
    "CANCELED",
    `${procedure}${node ? ` on node ${node}` : ""}: the client is closed (close() was called); connect a new client to make calls`,
    { procedure, node },
  );
}

/** True when the error means the connection was never made, so no request reached a server. */
export function isConnectFailure(error: unknown): boolean {
  const sys = systemErrorCode(error);
  return sys !== undefined && BEFORE_REQUEST_CODES.has(sys);
}

/** The TalosError an error is or carries: connect-es wraps what an interceptor throws as its cause. */
export function carriedTalosError(error: unknown): TalosError | undefined {
  for (const e of causeChain(error)) if (e instanceof TalosError) return e;
  return undefined;
}

/**
 * Whether the server refused a request without processing it: the HTTP/2
 * stream was refused (REFUSED_STREAM, as a server going away answers the
 * streams it will not handle).
 */
function refusedStream(error: unknown): boolean {
  return causeChain(error).some(
    (e) => e instanceof Error && !(e instanceof TalosError) && /REFUSED_STREAM/.test(e.message),
  );
}

/** What a failed call is typed with: where it went, and whether its own signal fired. */
export interface ErrorContext {
  node?: string | undefined;
  endpoint?: string | undefined;
  procedure?: string;
  /**
   * The call's signal. A cancellation while it has not fired was not the
   * caller's: the server (or the connection) ended the call, which is a
   * transient UNAVAILABLE, not CANCELED.
   */
  signal?: AbortSignal | undefined;
}

/** Turns any error into a TalosError (unchanged when it already is one). */
export function toTalosError(error: unknown, ctx: ErrorContext = {}): TalosError {
  const carried = carriedTalosError(error);
  if (carried) return carried;
  const conn = connectionErrorFrom(error, ctx);
  if (conn) return conn;
  const ce = ConnectError.from(error);
  const code = talosCodeForGrpc(ce.code);
  const where = ctx.node ? ` on node ${ctx.node}` : "";
  const what = ctx.procedure ?? "call";
  const opts = {
    cause: error,
    node: ctx.node,
    grpcCode: grpcCodeName(ce.code),
    procedure: ctx.procedure,
  };
  const dropped = (how: string, unprocessed: boolean) =>
    new ConnectionError(
      "UNAVAILABLE",
      `${what}${where}: ${how} (is the endpoint restarting?): ${ce.rawMessage}`,
      { ...opts, endpoint: ctx.endpoint, unprocessed },
    );
  if (refusedStream(error)) {
    return dropped("the endpoint refused the request before processing it", true);
  }
  if (ce.code === Code.Canceled && ctx.signal && !ctx.signal.aborted) {
    return dropped("the endpoint closed the call before it completed", false);
  }
  if (ce.code === Code.PermissionDenied) {
    return new PermissionDeniedError(`${what}${where}: permission denied: ${ce.rawMessage}`, opts);
  }
  if (ce.code === Code.Unimplemented) {
    return new UnimplementedError(`${what}${where} is not implemented: ${ce.rawMessage}`, opts);
  }
  return new RpcError(code, `${what}${where} failed (${opts.grpcCode}): ${ce.rawMessage}`, opts);
}
