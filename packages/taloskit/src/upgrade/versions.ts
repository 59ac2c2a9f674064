// Version planning: the path from a node's Talos version to a target, as
// Talos's installer allows it (a direct jump when the target accepts the
// node's version, else through the newest usable patch of the furthest minor
// that does), and the Kubernetes versions each Talos minor supports.
import {
  compareMinors,
  compareVersions,
  minorLine,
  minorOf,
  type TalosVersion,
  tryParseTalosVersion,
} from "@taloskit/core";
import { UpgradeError } from "./errors.js";

/**
 * What each Talos minor accepts, by minor: the oldest Talos minor it upgrades
 * from (its installer refuses older hosts) and the Kubernetes minors it
 * supports (inclusive).
 *
 * These are the compatibility rules of Talos's machinery (its
 * MinimumHostUpgradeVersion and Minimum/MaximumKubernetesVersion per release);
 * the conformance run asks Talos's own compatibility code for every pair of
 * versions 1.0 to 1.16 and Kubernetes 1.20 to 1.39 and checks this table
 * against its answers. No Talos release refuses particular host patches today
 * (its deny lists are empty). 1.15 is from the upstream sources: no released
 * machinery knows it yet, so it is not judged by Talos's code. Minors not
 * listed have no data: a step to them is only planned from the minor before,
 * and planning warns about Kubernetes instead of refusing.
 */
export const TALOS_COMPATIBILITY: Readonly<
  Record<string, { upgradeFrom: string; kubernetes: readonly [string, string] }>
> = {
  "1.2": { upgradeFrom: "1.0", kubernetes: ["1.23", "1.25"] },
  "1.3": { upgradeFrom: "1.0", kubernetes: ["1.24", "1.26"] },
  "1.4": { upgradeFrom: "1.0", kubernetes: ["1.25", "1.27"] },
  "1.5": { upgradeFrom: "1.2", kubernetes: ["1.26", "1.28"] },
  "1.6": { upgradeFrom: "1.3", kubernetes: ["1.24", "1.29"] },
  "1.7": { upgradeFrom: "1.4", kubernetes: ["1.25", "1.30"] },
  "1.8": { upgradeFrom: "1.5", kubernetes: ["1.26", "1.31"] },
  "1.9": { upgradeFrom: "1.8", kubernetes: ["1.27", "1.32"] },
  "1.10": { upgradeFrom: "1.8", kubernetes: ["1.28", "1.33"] },
  "1.11": { upgradeFrom: "1.9", kubernetes: ["1.29", "1.34"] },
  "1.12": { upgradeFrom: "1.10", kubernetes: ["1.30", "1.35"] },
  "1.13": { upgradeFrom: "1.11", kubernetes: ["1.31", "1.36"] },
  "1.14": { upgradeFrom: "1.12", kubernetes: ["1.32", "1.37"] },
  "1.15": { upgradeFrom: "1.13", kubernetes: ["1.33", "1.38"] },
};

/**
 * Whether Talos's installer of `target` accepts a node at `host` (same major,
 * host not newer). Minors without data accept only their own and the minor
 * before, the one step every release has allowed.
 */
export function upgradeableFrom(host: string, target: string): boolean {
  const h = tryParseTalosVersion(host);
  const t = tryParseTalosVersion(target);
  if (!h || !t || h.major !== t.major || compareVersions(h.tag, t.tag) > 0) return false;
  const oldest = TALOS_COMPATIBILITY[minorOf(t.tag)]?.upgradeFrom ?? `${t.major}.${t.minor - 1}`;
  return compareMinors(minorOf(h.tag), oldest) >= 0;
}

/** Versions the factory offers, and the ones it marks broken. */
export interface VersionCatalog {
  available: readonly string[];
  broken?: readonly string[];
}

/** A parsed Talos version of a catalog. */
export interface CatalogVersion {
  tag: string;
  major: number;
  minor: number;
  prerelease: boolean;
}

function catalogVersion(v: TalosVersion): CatalogVersion {
  return { tag: v.tag, major: v.major, minor: v.minor, prerelease: v.prerelease !== undefined };
}

/** A version given by the caller or read from a node; UPGRADE_INVALID_ARGUMENT naming `what` when it is none. */
function parse(version: string, what: string): CatalogVersion {
  const v = tryParseTalosVersion(version);
  if (!v) {
    throw new UpgradeError(
      "UPGRADE_INVALID_ARGUMENT",
      `${what} "${version}" is not a Talos version (expected v<major>.<minor>.<patch>)`,
    );
  }
  return catalogVersion(v);
}

/** A VersionCatalog parsed once (parseCatalog), for planning many nodes against it. */
export interface ParsedCatalog {
  readonly parsed: true;
  /** Offered versions that parse, as tags with their major and minor. */
  readonly available: readonly CatalogVersion[];
  /** Tags marked broken. */
  readonly broken: ReadonlySet<string>;
}

/** Parses a catalog once; versionPath and checkTarget accept either form. */
export function parseCatalog(catalog: VersionCatalog | ParsedCatalog): ParsedCatalog {
  if ("parsed" in catalog) return catalog;
  return {
    parsed: true,
    available: tags(catalog.available),
    broken: new Set(tags(catalog.broken).map((v) => v.tag)),
  };
}

/** The versions of a list that parse; the others are left out. */
function tags(list: readonly string[] | undefined): CatalogVersion[] {
  return (list ?? []).flatMap((text) => {
    const v = tryParseTalosVersion(text);
    return v ? [catalogVersion(v)] : [];
  });
}

/** Checks that the target is offered and not broken; returns its `v`-prefixed tag. */
export function checkTarget(target: string, catalog: VersionCatalog | ParsedCatalog): string {
  const to = parse(target, "target version");
  const c = parseCatalog(catalog);
  if (c.broken.has(to.tag)) {
    throw new UpgradeError(
      "UPGRADE_TARGET_BROKEN",
      `Talos ${to.tag} is marked broken by the Image Factory: pick another patch release`,
    );
  }
  if (!c.available.some((v) => v.tag === to.tag)) {
    throw new UpgradeError(
      "UPGRADE_TARGET_UNKNOWN",
      `the Image Factory does not offer Talos ${to.tag}`,
    );
  }
  return to.tag;
}

/**
 * The versions a node at `from` installs, in order, to reach `to`: `to` at
 * once when Talos allows that jump, else first the newest non-broken stable
 * patch of the furthest minor on the way that accepts the node, and so on.
 * Empty when the node already runs `to`. Refuses downgrades, major jumps,
 * targets the factory does not offer or marks broken, and ways with a minor
 * that has no usable release.
 */
export function versionPath(
  from: string,
  to: string,
  catalog: VersionCatalog | ParsedCatalog,
): string[] {
  const c = parseCatalog(catalog);
  const target = parse(checkTarget(to, c), "target version");
  const current = parse(from, "node version");
  if (current.major !== target.major) {
    throw new UpgradeError(
      "UPGRADE_IMPOSSIBLE_JUMP",
      `cannot upgrade from Talos ${current.tag} to ${target.tag}: the major version differs`,
    );
  }
  const order = compareVersions(target.tag, current.tag);
  if (order < 0) {
    throw new UpgradeError(
      "UPGRADE_IMPOSSIBLE_JUMP",
      `cannot upgrade from Talos ${current.tag} to the older ${target.tag}: downgrades are not planned`,
    );
  }
  if (order === 0) return [];
  const usable = c.available.filter((v) => !v.prerelease && !c.broken.has(v.tag));
  const newestOf = (minor: number) =>
    usable
      .filter((v) => v.major === target.major && v.minor === minor)
      .sort((a, b) => compareVersions(b.tag, a.tag))[0];
  const path: string[] = [];
  let at = current;
  while (!upgradeableFrom(at.tag, target.tag)) {
    let next: CatalogVersion | undefined;
    for (let minor = target.minor - 1; minor > at.minor && !next; minor--) {
      const best = newestOf(minor);
      if (best && upgradeableFrom(at.tag, best.tag)) next = best;
    }
    if (!next) {
      throw new UpgradeError(
        "UPGRADE_NO_PATH",
        `no usable Talos ${target.major}.${at.minor + 1} release at the Image Factory: Talos ${target.tag} does not accept ${at.tag}, so ${current.tag} cannot reach it`,
      );
    }
    path.push(next.tag);
    at = next;
  }
  path.push(target.tag);
  return path;
}

/** The outcome of a Kubernetes compatibility check. */
export interface KubernetesCheck {
  /** The Kubernetes version checked, `v`-less major.minor.patch as given. */
  version: string | undefined;
  /** True when every Talos version on the path supports it (or nothing is known against it). */
  ok: boolean;
  /** Talos versions that do not support it, with their supported range. */
  problems: string[];
  /** Talos versions without compatibility data. */
  unknown: string[];
}

/** Whether each Talos version supports the Kubernetes version (which an OS upgrade does not change). */
export function checkKubernetes(
  kubernetesVersion: string | undefined,
  talosVersions: readonly string[],
): KubernetesCheck {
  const out: KubernetesCheck = { version: kubernetesVersion, ok: true, problems: [], unknown: [] };
  if (!kubernetesVersion) return out;
  // A Kubernetes version is checked by its minor: "v1.34" and "1.34.1" are both 1.34.
  const line = minorLine(kubernetesVersion);
  if (!line) {
    throw new UpgradeError(
      "UPGRADE_INVALID_ARGUMENT",
      `Kubernetes version "${kubernetesVersion}" is not a version`,
    );
  }
  const k = `${line.major}.${line.minor}`;
  for (const t of [...new Set(talosVersions)]) {
    const row = tryParseTalosVersion(t) ? TALOS_COMPATIBILITY[minorOf(t)] : undefined;
    if (!row) {
      out.unknown.push(t);
      continue;
    }
    const [lo, hi] = row.kubernetes;
    if (compareMinors(k, lo) < 0 || compareMinors(k, hi) > 0) {
      out.ok = false;
      out.problems.push(`Talos ${t} supports Kubernetes ${lo} to ${hi}`);
    }
  }
  return out;
}
