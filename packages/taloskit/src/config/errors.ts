import { TalosError } from "@taloskit/client";

/** Stable error codes raised by the config module. */
export const CONFIG_ERROR_CODES = [
  "CONFIG_BAD_YAML",
  "CONFIG_BAD_PATCH",
  "CONFIG_BAD_DOCUMENT",
  "CONFIG_UNKNOWN_KIND",
  "CONFIG_UNKNOWN_VERSION",
  "CONFIG_DELETE_MISSING",
  "CONFIG_JSONPATCH_MULTIDOC",
  "CONFIG_JSONPATCH_FAILED",
  "CONFIG_JSONPATCH_UNREWRITABLE",
  "CONFIG_INVALID",
  "CONFIG_BUILDER_UNSUPPORTED",
  "CONFIG_BAD_OPTION",
  "CONFIG_NO_MACHINE_CONFIG",
  "CONFIG_NO_DOCUMENTS",
  "CONFIG_NEEDS_REBOOT",
  "CONFIG_REJECTED",
] as const;

export type ConfigErrorCode = (typeof CONFIG_ERROR_CODES)[number];

/** One schema or structure problem: which document, where in it, and which rule it breaks. */
export interface ConfigIssue {
  /** Document id, e.g. `/v1alpha1` or `v1alpha1/LinkConfig/eth0`. */
  document: string;
  /** Dotted path inside the document (empty for the document itself). */
  path: string;
  /** The rule that failed, e.g. `additionalProperties`, `type`, `enum`, `unknownKind`. */
  rule: string;
  message: string;
}

/**
 * Error raised while loading, merging or validating machine configs. `code` is stable;
 * `document` and `path` name where it happened when that is known. A {@link TalosError}.
 */
export class ConfigPatchError extends TalosError {
  override readonly name: string = "ConfigPatchError";
  /** Stable, machine-readable code. */
  declare readonly code: ConfigErrorCode;
  readonly document: string | undefined;
  readonly path: string | undefined;
  readonly issues: ConfigIssue[];

  constructor(
    code: ConfigErrorCode,
    message: string,
    options: {
      node?: string | undefined;
      document?: string;
      path?: string;
      issues?: ConfigIssue[];
      cause?: unknown;
    } = {},
  ) {
    super(code, message, { node: options.node, cause: options.cause });
    this.document = options.document;
    this.path = options.path;
    this.issues = options.issues ?? [];
  }
}

/** The error Talos gives when a JSON6902 patch meets a multi-document config. */
export const JSONPATCH_MULTIDOC_MESSAGE =
  "JSON6902 patches are not supported for multi-document machine configuration";

/**
 * Error raised while applying patches to a live node: the node has no machine config,
 * it refused the merged config, or the mode cannot apply the change. `node` names the
 * node; `cause` is the client's RpcError when the node answered.
 */
export class ConfigApplyError extends ConfigPatchError {
  override readonly name: string = "ConfigApplyError";
}
