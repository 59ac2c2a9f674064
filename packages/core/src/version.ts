// Talos versions, one module for every package: parsing (semver, with or
// without the "v" Talos tags carry), order, minor lines and the tags the
// factory and registries use.
import SemVer from "semver/classes/semver.js";
import { TalosError } from "./errors.js";

/** A parsed Talos version. */
export interface TalosVersion {
  major: number;
  minor: number;
  patch: number;
  /** The prerelease part ("beta.1"), undefined for a release. */
  prerelease: string | undefined;
  /** The tag Talos, the factory and registries use: "v1.14.2", "v1.15.0-alpha.1". */
  tag: string;
}

function fromSemver(v: SemVer): TalosVersion {
  const prerelease = v.prerelease.length ? v.prerelease.join(".") : undefined;
  return {
    major: v.major,
    minor: v.minor,
    patch: v.patch,
    prerelease,
    tag: `v${v.major}.${v.minor}.${v.patch}${prerelease ? `-${prerelease}` : ""}`,
  };
}

function semverOf(text: string): SemVer | undefined {
  if (typeof text !== "string" || text.length > 256) return undefined;
  try {
    return new SemVer(text.trim());
  } catch {
    return undefined;
  }
}

/** Parses "1.10.2" or "v1.10.2-beta.0"; undefined when it is not a version. */
export function tryParseTalosVersion(text: string): TalosVersion | undefined {
  const v = semverOf(text);
  return v ? fromSemver(v) : undefined;
}

/** Parses "1.10.2" or "v1.10.2-beta.0"; throws INVALID_ARGUMENT naming the text and `what` it is. */
export function parseTalosVersion(text: string, what = "Talos version"): TalosVersion {
  const v = tryParseTalosVersion(text);
  if (!v) {
    throw new TalosError(
      "INVALID_ARGUMENT",
      `invalid ${what} ${JSON.stringify(String(text).slice(0, 80))}: expected v<major>.<minor>.<patch>`,
    );
  }
  return v;
}

/** The "v"-prefixed tag of a version: "1.10.2" -> "v1.10.2". */
export function versionTag(text: string): string {
  return parseTalosVersion(text).tag;
}

/** Semver order: negative, zero or positive; a prerelease sorts before its release. */
export function compareVersions(a: string, b: string): number {
  const x = semverOf(a);
  const y = semverOf(b);
  if (!x) parseTalosVersion(a);
  if (!y) parseTalosVersion(b);
  return (x as SemVer).compare(y as SemVer);
}

/** A minor line: the major and minor of a version. */
export interface MinorLine {
  major: number;
  minor: number;
}

const MINOR = /^v?(\d{1,6})\.(\d{1,6})(?:\.(\d{1,9})(?:[-+][0-9A-Za-z.+-]*)?)?$/;

/**
 * The minor line of a version or of a minor alone: "v1.14", "1.14.2" and
 * "1.14.0-alpha.1" are all 1.14. Undefined when the text is neither.
 */
export function minorLine(text: string): MinorLine | undefined {
  if (typeof text !== "string" || text.length > 256) return undefined;
  const m = MINOR.exec(text.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

function lineOf(text: string, what = "Talos version"): MinorLine {
  const line = minorLine(text);
  if (line) return line;
  throw new TalosError(
    "INVALID_ARGUMENT",
    `invalid ${what} ${JSON.stringify(String(text).slice(0, 80))}: expected v<major>.<minor>[.<patch>]`,
  );
}

/** "1.14" for any 1.14 version or "v1.14"; throws INVALID_ARGUMENT for anything else. */
export function minorOf(text: string, what = "Talos version"): string {
  const line = lineOf(text, what);
  return `${line.major}.${line.minor}`;
}

/** Orders two minor lines ("1.13" < "v1.14.2"); both must be versions or minors. */
export function compareMinors(a: string, b: string): number {
  const x = lineOf(a);
  const y = lineOf(b);
  return x.major - y.major || x.minor - y.minor;
}

/**
 * True when `version` is in the `minor` line or later. Gates are per minor:
 * a 1.10 prerelease already has what 1.10.0 has.
 */
export function atLeastMinor(version: string, minor: string): boolean {
  return compareMinors(version, minor) >= 0;
}

/**
 * The full tag of a version that may be written without its patch:
 * "1.14" and "v1.14" become "v1.14.0", "1.12.3-beta.1" becomes "v1.12.3-beta.1".
 */
export function completeVersion(text: string, what = "Talos version"): string {
  const line = minorLine(text);
  const trimmed = typeof text === "string" ? text.trim() : "";
  if (line && /^v?\d+\.\d+$/.test(trimmed)) return `v${line.major}.${line.minor}.0`;
  return parseTalosVersion(trimmed, what).tag;
}
