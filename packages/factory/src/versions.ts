// The version gates that decide which assets and schematic fields a Talos
// version supports. Version parsing and order come from @taloskit/core.
import { atLeastMinor, tryParseTalosVersion } from "@taloskit/core";
import { FactoryError } from "./errors.js";

/**
 * The "v" tag of a version the caller gave ("1.10.2" -> "v1.10.2"), failing
 * as every error of this package does: a FactoryError INVALID_ARGUMENT.
 * @internal
 */
export function talosTag(version: string): string {
  const parsed = tryParseTalosVersion(version);
  if (parsed) return parsed.tag;
  throw new FactoryError(
    "INVALID_ARGUMENT",
    `invalid Talos version ${JSON.stringify(String(version).slice(0, 80))}: expected v<major>.<minor>.<patch>`,
  );
}

/** Version gates of the factory and Talos, by feature. */
export const VERSION_GATES = {
  secureBoot: "1.5",
  overlays: "1.7",
  zstd: "1.8",
  platformInstallers: "1.10",
  talosctlDownloads: "1.11",
  embeddedConfig: "1.12",
  bootloaderSelection: "1.12",
} as const;

export type VersionGate = keyof typeof VERSION_GATES;

/** Whether a Talos version has a feature. */
export function supports(version: string, feature: VersionGate): boolean {
  return atLeastMinor(version, VERSION_GATES[feature]);
}
