// @taloskit/factory: a typed client for the Talos Image Factory, the
// schematic model with offline IDs, catalogs, asset URLs and downloads.

export { type FactoryCache, MemoryCache } from "./cache.js";
export * from "./catalog.js";
export {
  type CallOptions,
  type CreatedSchematic,
  type DispatcherLike,
  type DownloadOptions,
  type DownloadProgress,
  type DownloadResult,
  type DownloadSink,
  errorFromResponse,
  FactoryClient,
  type FactoryClientOptions,
  type FetchLike,
} from "./client.js";
export * from "./errors.js";
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
export { sha256, sha256Hex } from "./sha256.js";
export * from "./urls.js";
export * from "./versions.js";
