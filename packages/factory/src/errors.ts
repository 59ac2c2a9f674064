// Every failure of @taloskit/factory is a FactoryError with a stable `code`,
// so callers branch on codes rather than on message text. FactoryError is a
// TalosError: `instanceof TalosError` catches factory failures too.
import { TalosError } from "@taloskit/core";

export type FactoryErrorCode =
  | "SCHEMATIC_INVALID"
  | "SCHEMATIC_PARSE"
  | "FACTORY_INVALID_SCHEMATIC"
  | "FACTORY_NOT_FOUND"
  | "FACTORY_ENTERPRISE_ONLY"
  | "FACTORY_UNAUTHORIZED"
  | "FACTORY_SERVER_ERROR"
  | "FACTORY_HTTP_ERROR"
  | "FACTORY_BAD_RESPONSE"
  | "FACTORY_NETWORK"
  | "FACTORY_TIMEOUT"
  | "FACTORY_ABORTED"
  | "FACTORY_UNSUPPORTED"
  | "DOWNLOAD_SIZE_MISMATCH"
  | "DOWNLOAD_FAILED"
  | "INVALID_ARGUMENT";

export interface FactoryErrorOptions {
  cause?: unknown;
  /** HTTP status the factory answered with, when there was an answer. */
  status?: number;
  /** The request URL (never carries credentials: they travel in headers). */
  url?: string;
  /** The factory's own message (its plain-text error body, trimmed). */
  serverMessage?: string;
}

/** Base class of every error this package throws. */
export class FactoryError extends TalosError {
  override name = "FactoryError";
  // Narrowed, not redefined: TalosError's constructor sets it.
  declare readonly code: FactoryErrorCode;
  readonly status: number | undefined;
  readonly url: string | undefined;
  readonly serverMessage: string | undefined;

  constructor(code: FactoryErrorCode, message: string, options: FactoryErrorOptions = {}) {
    super(code, message, { cause: options.cause });
    this.status = options.status;
    this.url = options.url;
    this.serverMessage = options.serverMessage;
  }
}

/** A schematic that fails our own checks (shape, field types, catalog). `issues` name each field. */
export class SchematicError extends FactoryError {
  override name = "SchematicError";
  readonly issues: string[];
  constructor(
    message: string,
    issues: string[] = [],
    code: "SCHEMATIC_INVALID" | "SCHEMATIC_PARSE" = "SCHEMATIC_INVALID",
  ) {
    super(code, issues.length > 0 ? `${message}: ${issues.join("; ")}` : message);
    this.issues = issues;
  }
}

/** The factory refused a schematic or asset path (HTTP 400); `serverMessage` says why. */
export class InvalidSchematicError extends FactoryError {
  override name = "InvalidSchematicError";
}

/** The schematic, version or asset does not exist (HTTP 404). */
export class NotFoundError extends FactoryError {
  override name = "NotFoundError";
}

/** A download ended with a different number of bytes than announced or expected. */
export class DownloadSizeError extends FactoryError {
  override name = "DownloadSizeError";
  readonly expected: number;
  readonly received: number;
  constructor(expected: number, received: number, url?: string) {
    super(
      "DOWNLOAD_SIZE_MISMATCH",
      `download of ${url ?? "asset"} ended at ${received} bytes, expected ${expected}`,
      {
        url,
      },
    );
    this.expected = expected;
    this.received = received;
  }
}

export function isFactoryError(error: unknown, code?: FactoryErrorCode): error is FactoryError {
  return error instanceof FactoryError && (code === undefined || error.code === code);
}
