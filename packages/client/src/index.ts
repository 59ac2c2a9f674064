// @taloskit/client: a typed client for the Talos machine API and COSI resources.
export {
  type ConnectOptions,
  type FromTalosconfigOptions,
  type MaintenanceOptions,
  type NodeClient,
  TalosClient,
} from "./client.js";
export {
  LEGACY_NODES_KEY,
  NODE_KEY,
  RETRY_KEY,
  type TalosContext,
  talosContext,
} from "./context.js";
export {
  certificateRoles,
  decodePemField,
  normalizePrivateKey,
  type PemCredentials,
  parseCertificates,
  prepareCredentials,
  spkiFingerprint,
} from "./credentials.js";
export { type Endpoint, normalizeEndpoint } from "./endpoint.js";
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
export type { NodeState, ResourceDefinition } from "./node-state.js";
export {
  decodeResource,
  definitionOf,
  matchDefinition,
  RESOURCE_DEFINITION_TYPE,
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
  DEFAULT_RETRY,
  isRetryable,
  isTransient,
  type RetryInfo,
  type RetryOptions,
  type RetryPolicy,
  type RetrySetting,
} from "./retry-policy.js";
export {
  explainUnavailable,
  isRpcAvailable,
  requiredRoles,
  rpcAddedIn,
  rpcAvailability,
  rpcRemovedIn,
} from "./rpc.js";
export type { NodeScope, TalosCallOptions, TalosServices } from "./services.js";
export type { TransportSettings } from "./session.js";
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
  stringifyTalosconfig,
  type Talosconfig,
  type TalosconfigContext,
  type TalosconfigOptions,
  talosconfigPaths,
  writeTalosconfig,
} from "./talosconfig.js";
export type { TlsSettings } from "./tls.js";
export { createTalosTransport, TalosTransport, type TalosTransportOptions } from "./transport.js";
