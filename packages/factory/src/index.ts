// @taloskit/factory: a typed client for the Talos Image Factory, the
// schematic model with offline IDs, catalogs, asset URLs and downloads.
// Talos version parsing and order live in @taloskit/core.

export { type FactoryCache, MemoryCache } from "./cache.js";
export {
  ARCH_ONLY,
  assertValidSchematic,
  type Catalog,
  type ExtensionInfo,
  ExtensionInfoSchema,
  factoryExtensionAlias,
  LEGACY_EXTENSIONS,
  OFFLINE_MINORS,
  type OverlayInfo,
  OverlayInfoSchema,
  offlineCatalog,
  type SchematicIssue,
  type ValidationResult,
  validateSchematic,
} from "./catalog.js";
export {
  type CallOptions,
  type CreatedSchematic,
  type DispatcherLike,
  type DownloadOptions,
  type DownloadProgress,
  type DownloadResult,
  type DownloadSink,
  FactoryClient,
  type FactoryClientOptions,
  type FetchLike,
} from "./client.js";
export {
  DownloadSizeError,
  FactoryError,
  type FactoryErrorCode,
  type FactoryErrorOptions,
  InvalidSchematicError,
  isFactoryError,
  NotFoundError,
  SchematicError,
} from "./errors.js";
/**
 * Go's YAML encoder (go-yaml v3 defaults, as the factory and talosctl use it):
 * `emitGoYaml` writes one document from a {@link GoNode} tree, quoting strings
 * that would read back as another type (`yes`, `0000:17:00.0`, `1e3`, `~`, ...).
 */
export { emitGoYaml, type GoNode } from "./goyaml.js";
export {
  BOOTLOADER_KINDS,
  type BootloaderKind,
  type Customization,
  CustomizationSchema,
  canonicalSchematicYaml,
  ENROLL_KEYS_MODES,
  type EnrollKeysMode,
  type MetaValue,
  MetaValueSchema,
  type Overlay,
  OverlaySchema,
  parseSchematic,
  type Schematic,
  SchematicBuilder,
  type SchematicInput,
  SchematicSchema,
  schematic,
  schematicId,
  sortExtensions,
  VANILLA_SCHEMATIC_ID,
  validateSchematicShape,
  YamlFloat,
  YamlMap,
  YamlTimestamp,
} from "./schematic.js";
export {
  ARCHES,
  type Arch,
  type AssetKind,
  type AssetTarget,
  type AssetUrls,
  assetPaths,
  assetUrls,
  type BootMethod,
  DISK_COMPRESSIONS,
  DISK_FORMATS,
  type DiskCompression,
  type DiskFormat,
  defaultPxeUrl,
  imageUrl,
  installerImage,
  PLATFORMS,
  type PlatformInfo,
  platformInfo,
  pxeUrl,
  registryHost,
} from "./urls.js";
export { supports, VERSION_GATES, type VersionGate } from "./versions.js";
