// The one error base of taloskit. Every package's errors extend TalosError, so
// `instanceof TalosError` catches anything the libraries throw, and every error
// has a stable `code` for programs and a message for people. Messages never
// carry key, certificate or token material: only names, paths, hosts and codes.

/** Stable error codes shared by the packages (each package adds its own). */
export type TalosErrorCode =
  | "TALOSCONFIG_NOT_FOUND"
  | "TALOSCONFIG_INVALID"
  | "TALOSCONFIG_UNKNOWN_CONTEXT"
  | "TALOSCONFIG_NO_ENDPOINTS"
  | "CREDENTIALS_INVALID"
  | "CREDENTIALS_EXPIRED"
  | "TLS_UNTRUSTED_SERVER"
  | "TLS_HOSTNAME_MISMATCH"
  | "TLS_CERT_EXPIRED"
  | "TLS_CLIENT_CERT_REJECTED"
  | "TLS_FINGERPRINT_MISMATCH"
  | "ENDPOINT_UNREACHABLE"
  | "INVALID_ARGUMENT"
  | "PERMISSION_DENIED"
  | "UNAUTHENTICATED"
  | "UNIMPLEMENTED"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "FAILED_PRECONDITION"
  | "UNAVAILABLE"
  | "DEADLINE_EXCEEDED"
  | "CANCELED"
  | "RESOURCE_EXHAUSTED"
  | "RESOURCE_TYPE_UNKNOWN"
  | "INTERNAL"
  | "UNKNOWN";

export interface TalosErrorOptions {
  node?: string | undefined;
  cause?: unknown;
  /** gRPC status code name when the error came from a call (e.g. "permission_denied"). */
  grpcCode?: string | undefined;
  /** The RPC, as "package.Service/Method", when the error came from a call. */
  procedure?: string | undefined;
}

/**
 * Base class of every error thrown by a taloskit package. Subclasses narrow
 * `code` to their own stable codes.
 */
export class TalosError extends Error {
  override readonly name: string = "TalosError";
  /** Stable, machine-readable code: a {@link TalosErrorCode}, or a subclass's own code. */
  readonly code: TalosErrorCode | (string & {});
  /** The node (as given in the `node` metadata or maintenance endpoint) the error concerns. */
  readonly node: string | undefined;
  /** The gRPC status code name, for errors returned by a call. */
  readonly grpcCode: string | undefined;
  /** The RPC as "package.Service/Method", for errors returned by a call. */
  readonly procedure: string | undefined;

  constructor(
    code: TalosErrorCode | (string & {}),
    message: string,
    options: TalosErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.node = options.node;
    this.grpcCode = options.grpcCode;
    this.procedure = options.procedure;
  }
}

/** The text of anything thrown, for messages that explain a cause. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
