// Public API of taloskit's machine-config support: typed documents, strategic merge
// and JSON6902 patches, validation and version-aware builders.

export {
  APPLY_MODES,
  type ApplyMachineConfigOptions,
  type ApplyMachineConfigResult,
  type ApplyMode,
  applyMachineConfig,
  confirmTryConfig,
  MACHINE_CONFIG_RESOURCE,
  type NodePatchResult,
  type PatchMachineConfigOptions,
  type PatchMachineConfigResult,
  patchMachineConfig,
  patchMachineConfigOnNodes,
  readMachineConfig,
} from "./apply.js";
export {
  type BondMode,
  bondPatch,
  builtPatch,
  type ConfigKernelModule,
  certSANsPatch,
  clusterEndpointPatch,
  extensionServicePatch,
  type GpuVendor,
  gpuRuntimePatch,
  type InstallOptions,
  installPatch,
  type KubeletSettings,
  kernelArgsPatch,
  kernelModulesPatch,
  kubeletPatch,
  type LinkSettings,
  linkPatch,
  type MachinePatchDocuments,
  machinePatchDocuments,
  mergePatchDocuments,
  type NodeMetadata,
  nodeMetadataPatch,
  type PatchDocument,
  registryAuthPatch,
  registryMirrorPatch,
  sysctlsPatch,
  userVolumePatch,
  vlanPatch,
} from "./builders.js";
export { type ConfigChange, type ConfigDiff, unifiedDiff } from "./diff.js";
export {
  type ConfigDocument,
  type DocumentRef,
  parseConfig,
  printConfig,
} from "./documents.js";
export {
  CONFIG_ERROR_CODES,
  ConfigApplyError,
  type ConfigErrorCode,
  type ConfigIssue,
  ConfigPatchError,
} from "./errors.js";
export {
  CA_VALIDITY_MS,
  CLIENT_VALIDITY_MS,
  DEFAULT_KUBERNETES_VERSIONS,
  GENERATE_VERSIONS,
  type GenerateConfigInput,
  type GeneratedConfig,
  type GenerateSecretsOptions,
  type GenerateVersion,
  generateClientCertificate,
  generateConfig,
  generateSecrets,
  generateVersion,
  type PemCertAndKey,
  parseSecrets,
  printSecrets,
  randomToken,
  type SecretsBundle,
} from "./generate/index.js";
export type {
  TypesV1_10,
  TypesV1_11,
  TypesV1_12,
  TypesV1_13,
  TypesV1_14,
} from "./generated/index.js";
export { type JsonPatchOperation, JsonPatchOperationSchema } from "./jsonpatch.js";
export {
  applyPatches,
  type ConfigPatch,
  type LoadPatchesOptions,
  loadPatch,
  loadPatches,
  type PatchConfigOptions,
  type PatchConfigResult,
  patchConfig,
  strategicPatch,
} from "./patch.js";
export { maskSecrets, REDACTED, REDACTED_CHANGED, redactDiff } from "./redact.js";
export { type RewrittenPatch, rewriteJson6902 } from "./rewrite.js";
export {
  assertValidConfig,
  type ValidateOptions,
  type ValidationResult,
  validateConfig,
  validateDocuments,
} from "./validate.js";
export {
  CONFIG_VERSIONS,
  type ConfigVersion,
  configVersion,
  isKnownKind,
  type KindInfo,
  kindsOfVersion,
} from "./versions.js";
