// Talos versions as the factory spells them, and the version gates that
// decide which assets and schematic fields a version supports.
import { FactoryError } from "./errors.js";

export interface TalosVersion {
  major: number;
  minor: number;
  patch: number;
  prerelease: string | undefined;
}

const SEMVER =
  /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/** Parses `1.10.2` or `v1.10.2-beta.0`; throws INVALID_ARGUMENT naming the bad text. */
export function parseTalosVersion(version: string): TalosVersion {
  const m = SEMVER.exec(version.trim());
  if (!m) {
    throw new FactoryError(
      "INVALID_ARGUMENT",
      `invalid Talos version "${version}": expected v<major>.<minor>.<patch>`,
    );
  }
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), prerelease: m[4] };
}

/** Safe-parse twin of parseTalosVersion. */
export function tryParseTalosVersion(version: string): TalosVersion | undefined {
  return SEMVER.test(version.trim()) ? parseTalosVersion(version) : undefined;
}

/** The `v`-prefixed tag the factory uses in URLs and OCI references. */
export function versionTag(version: string): string {
  const v = parseTalosVersion(version);
  return `v${v.major}.${v.minor}.${v.patch}${v.prerelease ? `-${v.prerelease}` : ""}`;
}

/** Semver order (a prerelease sorts before its release). */
export function compareVersions(a: string, b: string): number {
  const x = parseTalosVersion(a);
  const y = parseTalosVersion(b);
  const d = x.major - y.major || x.minor - y.minor || x.patch - y.patch;
  if (d !== 0) return d;
  if (x.prerelease === y.prerelease) return 0;
  if (x.prerelease === undefined) return 1;
  if (y.prerelease === undefined) return -1;
  const xp = x.prerelease.split(".");
  const yp = y.prerelease.split(".");
  for (let i = 0; i < Math.max(xp.length, yp.length); i++) {
    const a1 = xp[i];
    const b1 = yp[i];
    if (a1 === undefined) return -1;
    if (b1 === undefined) return 1;
    const an = /^\d+$/.test(a1) ? Number(a1) : undefined;
    const bn = /^\d+$/.test(b1) ? Number(b1) : undefined;
    if (an !== undefined && bn !== undefined && an !== bn) return an - bn;
    if (an !== undefined && bn === undefined) return -1;
    if (an === undefined && bn !== undefined) return 1;
    if (a1 !== b1) return a1 < b1 ? -1 : 1;
  }
  return 0;
}

/** "1.10" for any 1.10.x, prereleases included. */
export function minorOf(version: string): string {
  const v = parseTalosVersion(version);
  return `${v.major}.${v.minor}`;
}

/**
 * True when `version` is in the `minor` line or later. Gates are per minor:
 * a 1.10 prerelease already has what 1.10.0 has.
 */
export function atLeastMinor(version: string, minor: string): boolean {
  const v = parseTalosVersion(version);
  const [maj, min] = minor.split(".").map(Number) as [number, number];
  return v.major > maj || (v.major === maj && v.minor >= min);
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
