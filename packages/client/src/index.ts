// @taloskit/client: a typed client for the Talos machine API and COSI resources.
export {
  type ConnectOptions,
  type FromTalosconfigOptions,
  type MaintenanceOptions,
  type TalosCallOptions,
  TalosClient,
  type TalosServiceClient,
} from "./client.js";
export {
  certificateRoles,
  decodePemField,
  normalizePrivateKey,
  type PemCredentials,
  parseCertificates,
  prepareCredentials,
  spkiFingerprint,
} from "./credentials.js";
export {
  ConnectionError,
  CredentialsError,
  PermissionDeniedError,
  ResourceTypeError,
  RpcError,
  TalosconfigError,
  TalosError,
  type TalosErrorCode,
  UnimplementedError,
} from "./errors.js";
export { legacyResults, type NodeResult, type OnNodesOptions, runOnNodes } from "./fanout.js";
export {
  decodeResource,
  definitionOf,
  matchDefinition,
  RESOURCE_DEFINITION_TYPE,
  type ResourceDefinition,
  type ResourceMetadata,
  type ResourceOptions,
  Resources,
  type ResourceWatchEvent,
  SCHEMA_VERSION,
  schemaChanges,
  specSchemaFor,
  type TalosResource,
} from "./resources.js";
export {
  backoffDelay,
  DEFAULT_RETRY,
  isRetryable,
  isTransient,
  type RetryInfo,
  type RetryOptions,
  type RetryPolicy,
  type RetrySetting,
} from "./retry.js";
export {
  explainUnavailable,
  isRpcAvailable,
  requiredRoles,
  rpcAddedIn,
  rpcAvailability,
  rpcRemovedIn,
} from "./rpc.js";
export {
  type ByteSource,
  ByteStream,
  type DecodedEvent,
  decodeEvent,
  isHelloEvent,
  Streams,
} from "./streams.js";
export {
  loadTalosconfig,
  parseTalosconfig,
  type ResolvedContext,
  resolveContext,
  type Talosconfig,
  type TalosconfigContext,
  type TalosconfigOptions,
  talosconfigPaths,
} from "./talosconfig.js";
export { buildTlsOptions, normalizeEndpoint, type TlsSettings } from "./transport.js";
