// Asset URLs and installer image references. The factory builds assets on
// demand from a path grammar; these helpers write that grammar and refuse
// combinations a Talos version cannot build, instead of letting a download
// fail minutes later.

import { atLeastMinor } from "@taloskit/core";
import { FactoryError } from "./errors.js";
import { supports, talosTag } from "./versions.js";

export type Arch = "amd64" | "arm64";
export const ARCHES: readonly Arch[] = ["amd64", "arm64"];

export type BootMethod = "iso" | "disk-image" | "pxe";

/** A Talos platform and what the factory offers for it. */
export interface PlatformInfo {
  name: string;
  arches: readonly Arch[];
  /** Default disk image suffix (format and compression), when the platform has disk images. */
  diskImageSuffix?: string;
  bootMethods: readonly BootMethod[];
  secureBoot: boolean;
  minVersion?: string;
}

const both: readonly Arch[] = ["amd64", "arm64"];
const amd: readonly Arch[] = ["amd64"];

/** Platforms with their default links, as the factory's UI offers them. */
export const PLATFORMS: readonly PlatformInfo[] = [
  {
    name: "metal",
    arches: both,
    diskImageSuffix: "raw.zst",
    bootMethods: ["iso", "disk-image", "pxe"],
    secureBoot: true,
  },
  {
    name: "aws",
    arches: both,
    diskImageSuffix: "raw.xz",
    bootMethods: ["disk-image"],
    secureBoot: false,
  },
  {
    name: "gcp",
    arches: both,
    diskImageSuffix: "raw.tar.gz",
    bootMethods: ["disk-image"],
    secureBoot: false,
  },
  { name: "equinixMetal", arches: both, bootMethods: ["pxe"], secureBoot: false },
  {
    name: "azure",
    arches: both,
    diskImageSuffix: "vhd.xz",
    bootMethods: ["disk-image"],
    secureBoot: true,
  },
  {
    name: "digital-ocean",
    arches: amd,
    diskImageSuffix: "raw.gz",
    bootMethods: ["disk-image"],
    secureBoot: false,
  },
  {
    name: "nocloud",
    arches: both,
    diskImageSuffix: "raw.xz",
    bootMethods: ["disk-image", "iso", "pxe"],
    secureBoot: true,
  },
  {
    name: "openstack",
    arches: both,
    diskImageSuffix: "raw.xz",
    bootMethods: ["disk-image", "iso", "pxe"],
    secureBoot: false,
  },
  {
    name: "vmware",
    arches: both,
    diskImageSuffix: "ova",
    bootMethods: ["disk-image", "iso"],
    secureBoot: false,
  },
  {
    name: "akamai",
    arches: amd,
    diskImageSuffix: "raw.gz",
    bootMethods: ["disk-image"],
    secureBoot: false,
    minVersion: "1.7",
  },
  {
    name: "cloudstack",
    arches: both,
    diskImageSuffix: "raw.gz",
    bootMethods: ["disk-image"],
    secureBoot: true,
    minVersion: "1.8",
  },
  {
    name: "hcloud",
    arches: amd,
    diskImageSuffix: "raw.xz",
    bootMethods: ["disk-image"],
    secureBoot: false,
  },
  {
    name: "oracle",
    arches: both,
    diskImageSuffix: "qcow2",
    bootMethods: ["disk-image"],
    secureBoot: false,
  },
  {
    name: "upcloud",
    arches: amd,
    diskImageSuffix: "raw.xz",
    bootMethods: ["disk-image"],
    secureBoot: false,
  },
  { name: "vultr", arches: amd, bootMethods: ["iso", "pxe"], secureBoot: false },
  {
    name: "exoscale",
    arches: both,
    diskImageSuffix: "qcow2",
    bootMethods: ["disk-image"],
    secureBoot: false,
    minVersion: "1.3",
  },
  {
    name: "opennebula",
    arches: both,
    diskImageSuffix: "raw.zst",
    bootMethods: ["disk-image", "iso"],
    secureBoot: false,
    minVersion: "1.7",
  },
  {
    name: "scaleway",
    arches: both,
    diskImageSuffix: "raw.zst",
    bootMethods: ["disk-image", "iso"],
    secureBoot: false,
  },
  {
    name: "alibabacloud",
    arches: both,
    diskImageSuffix: "qcow2",
    bootMethods: ["disk-image"],
    secureBoot: false,
    minVersion: "1.14",
  },
];

export function platformInfo(name: string): PlatformInfo | undefined {
  return PLATFORMS.find((p) => p.name === name);
}

export const DISK_FORMATS = ["raw", "qcow2", "vhd", "ova"] as const;
export type DiskFormat = (typeof DISK_FORMATS)[number];
export const DISK_COMPRESSIONS = ["", "xz", "gz", "zst", "tar.gz"] as const;
export type DiskCompression = (typeof DISK_COMPRESSIONS)[number];

/** Where and for what an asset is built. */
export interface AssetTarget {
  schematicId: string;
  version: string;
  arch: Arch;
  /** Talos platform, `metal` by default (SBCs use `metal` with an overlay schematic). */
  platform?: string;
  secureBoot?: boolean;
}

function bad(message: string): never {
  throw new FactoryError("INVALID_ARGUMENT", message);
}

/** The longest argument a URL builder takes (IDs, versions, platforms and base URLs are far shorter). */
const MAX_ARGUMENT = 2048;

/** A short, quoted form of a value for a message. */
function quoted(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
}

/** A string argument of at most {@link MAX_ARGUMENT} characters, or an INVALID_ARGUMENT error naming it. */
function argument(name: string, value: unknown): string {
  if (typeof value !== "string") {
    bad(`${name} must be a string, not ${value === null ? "null" : typeof value}`);
  }
  if (value.length > MAX_ARGUMENT) bad(`${name} is longer than ${MAX_ARGUMENT} characters`);
  return value;
}

function check(t: AssetTarget): { platform: string; sb: string; tag: string } {
  if (typeof t !== "object" || t === null) bad("the asset target must be an object");
  const schematicId = argument("schematicId", t.schematicId);
  if (!/^[0-9a-f]{64}$/.test(schematicId))
    bad(`schematicId ${quoted(schematicId)} is not a 64-digit hex ID`);
  if (!ARCHES.includes(t.arch)) {
    const arch = typeof t.arch === "string" ? quoted(t.arch) : `of type ${typeof t.arch}`;
    bad(`arch ${arch} is not one of ${ARCHES.join(", ")}`);
  }
  const platform = t.platform === undefined ? "metal" : argument("platform", t.platform);
  if (!/^[a-zA-Z][a-zA-Z0-9-]*$/.test(platform))
    bad(`platform ${quoted(platform)} is not a platform name`);
  if (t.secureBoot !== undefined && typeof t.secureBoot !== "boolean")
    bad(`secureBoot must be a boolean, not ${typeof t.secureBoot}`);
  const tag = talosTag(argument("version", t.version));
  const info = platformInfo(platform);
  if (info?.minVersion && !atLeastMinor(tag, info.minVersion)) {
    bad(`platform ${platform} needs Talos ${info.minVersion} or later, not ${tag}`);
  }
  if (t.secureBoot && !supports(tag, "secureBoot"))
    bad(`SecureBoot assets need Talos 1.5 or later, not ${tag}`);
  return { platform, sb: t.secureBoot ? "-secureboot" : "", tag };
}

/** The `/image/...` path segment for each asset kind. */
export const assetPaths = {
  iso(t: AssetTarget): string {
    const { platform, sb } = check(t);
    return `${platform}-${t.arch}${sb}.iso`;
  },
  /** A disk image; format and compression default to the platform's own (metal: `raw.zst`, or `raw.xz` before 1.8). */
  diskImage(
    t: AssetTarget,
    options: { format?: DiskFormat; compression?: DiskCompression } = {},
  ): string {
    const { platform, sb, tag } = check(t);
    let suffix: string;
    if (options.format !== undefined || options.compression !== undefined) {
      const format = options.format ?? "raw";
      if (!DISK_FORMATS.includes(format))
        bad(`disk format "${format}" is not one of ${DISK_FORMATS.join(", ")}`);
      const compression = options.compression ?? "";
      if (!DISK_COMPRESSIONS.includes(compression))
        bad(`compression "${compression}" is not one of xz, gz, zst, tar.gz`);
      suffix = compression ? `${format}.${compression}` : format;
    } else {
      const info = platformInfo(platform);
      if (!info?.diskImageSuffix)
        bad(`platform ${platform} has no default disk image: pass a format`);
      suffix = info.diskImageSuffix;
    }
    if (suffix.endsWith(".zst") && !supports(tag, "zstd")) {
      if (options.compression === "zst")
        bad(`zstd disk images need Talos 1.8 or later, not ${tag}`);
      suffix = suffix.replace(/\.zst$/, ".xz");
    }
    return `${platform}-${t.arch}${sb}.${suffix}`;
  },
  uki(t: AssetTarget): string {
    const { platform, sb, tag } = check(t);
    if (!supports(tag, "secureBoot")) bad(`UKI assets need Talos 1.5 or later, not ${tag}`);
    return `${platform}-${t.arch}${sb}-uki.efi`;
  },
  kernel(t: AssetTarget): string {
    check(t);
    return `kernel-${t.arch}`;
  },
  initramfs(t: AssetTarget): string {
    check(t);
    return `initramfs-${t.arch}.xz`;
  },
  cmdline(t: AssetTarget): string {
    const { platform, sb } = check(t);
    return `cmdline-${platform}-${t.arch}${sb}`;
  },
  /** Installer tarball: `<platform>-installer-…` from 1.10, `installer-…` before. */
  installerTarball(t: AssetTarget): string {
    const { platform, sb, tag } = check(t);
    return supports(tag, "platformInstallers")
      ? `${platform}-installer-${t.arch}${sb}.tar`
      : `installer-${t.arch}${sb}.tar`;
  },
};

export type AssetKind = keyof typeof assetPaths;

/** A base URL without its trailing slashes (trimmed by a loop: a regex would backtrack on long runs of "/"). */
function trimBase(baseUrl: string, name = "baseUrl"): string {
  const url = argument(name, baseUrl);
  if (/[\s\p{Cc}]/u.test(url)) bad(`${name} ${quoted(url)} has whitespace or control characters`);
  let end = url.length;
  while (end > 0 && url[end - 1] === "/") end--;
  return url.slice(0, end);
}

/** Full URL of an asset under a factory. */
export function imageUrl(baseUrl: string, t: AssetTarget, path: string): string {
  check(t);
  return `${trimBase(baseUrl)}/image/${t.schematicId}/${talosTag(t.version)}/${argument("path", path)}`;
}

/**
 * Where a factory serves iPXE scripts: `https://pxe.factory.talos.dev` for the
 * public factory (`https://factory.talos.dev`), the factory's own base URL otherwise.
 */
export function defaultPxeUrl(baseUrl: string): string {
  const base = trimBase(baseUrl);
  return /^https?:\/\/factory\.talos\.dev$/.test(base) ? "https://pxe.factory.talos.dev" : base;
}

/** iPXE script URL (the public factory serves PXE from pxe.factory.talos.dev). */
export function pxeUrl(pxeBaseUrl: string, t: AssetTarget): string {
  const { platform, sb, tag } = check(t);
  return `${trimBase(pxeBaseUrl, "pxeBaseUrl")}/pxe/${t.schematicId}/${tag}/${platform}-${t.arch}${sb}`;
}

/** The registry host of a factory URL or host: no scheme, no trailing slashes. */
export function registryHost(baseUrl: string): string {
  return trimBase(baseUrl).replace(/^[a-z]+:\/\//, "");
}

/**
 * Installer image reference for installs and upgrades:
 * `<host>/<platform>-installer[-secureboot]/<id>:<tag>` from Talos 1.10,
 * the legacy `<host>/installer[-secureboot]/<id>:<tag>` before.
 */
export function installerImage(baseUrl: string, t: Omit<AssetTarget, "arch">): string {
  const { platform, sb, tag } = check({ ...t, arch: "amd64" });
  const host = registryHost(baseUrl);
  const repo = supports(tag, "platformInstallers")
    ? `${platform}-installer${sb}`
    : `installer${sb}`;
  return `${host}/${repo}/${t.schematicId}:${tag}`;
}

/** Every link the factory offers for a target, like the UI's final page. */
export interface AssetUrls {
  schematicId: string;
  version: string;
  arch: Arch;
  platform: string;
  secureBoot: boolean;
  installer: string;
  iso?: string;
  diskImage?: string;
  pxe?: string;
  kernel: string;
  initramfs: string;
  cmdline: string;
  uki?: string;
}

/** All asset URLs for a target, skipping the ones its platform does not offer. */
export function assetUrls(baseUrl: string, pxeBaseUrl: string, t: AssetTarget): AssetUrls {
  const { platform, tag } = check(t);
  const info = platformInfo(platform);
  const methods = info?.bootMethods ?? ["iso", "disk-image", "pxe"];
  const url = (path: string) => imageUrl(baseUrl, t, path);
  const out: AssetUrls = {
    schematicId: t.schematicId,
    version: tag,
    arch: t.arch,
    platform,
    secureBoot: t.secureBoot ?? false,
    installer: installerImage(baseUrl, t),
    kernel: url(assetPaths.kernel(t)),
    initramfs: url(assetPaths.initramfs(t)),
    cmdline: url(assetPaths.cmdline(t)),
  };
  if (methods.includes("iso")) out.iso = url(assetPaths.iso(t));
  if (methods.includes("disk-image") && info?.diskImageSuffix)
    out.diskImage = url(assetPaths.diskImage(t));
  if (methods.includes("pxe")) out.pxe = pxeUrl(pxeBaseUrl, t);
  if (supports(tag, "secureBoot")) out.uki = url(assetPaths.uki(t));
  return out;
}
