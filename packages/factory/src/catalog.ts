// Extension and overlay catalogs per Talos version, and validation of a
// schematic against one. The factory accepts any name at POST time and only
// fails when an image is built, so catching mistakes here saves a slow,
// confusing failure later.

import { atLeastMinor, minorOf } from "@taloskit/core";
import { z } from "zod";
import { EXTENSION_SINCE, IMAGE_DIGESTS, SNAPSHOT_MINORS } from "./catalog-data.js";
import { SchematicError } from "./errors.js";
import type { Schematic } from "./schematic.js";
import { sortExtensions } from "./schematic.js";
import type { Arch } from "./urls.js";
import { supports, talosTag } from "./versions.js";

export const ExtensionInfoSchema = z.object({
  name: z.string(),
  ref: z.string(),
  digest: z.string(),
  author: z.string(),
  description: z.string(),
});
export type ExtensionInfo = z.infer<typeof ExtensionInfoSchema>;

export const OverlayInfoSchema = z.object({
  name: z.string(),
  image: z.string(),
  ref: z.string(),
  digest: z.string(),
});
export type OverlayInfo = z.infer<typeof OverlayInfoSchema>;

/** An extension of a catalog: as the factory lists it, or from the offline snapshot without a known image. */
export type CatalogExtension = Omit<ExtensionInfo, "ref" | "digest"> & {
  ref?: string;
  digest?: string;
};
/** An overlay of a catalog, as {@link CatalogExtension}. */
export type CatalogOverlay = Omit<OverlayInfo, "ref" | "digest"> & {
  ref?: string;
  digest?: string;
};

/** What a factory offers for one Talos version. */
export interface CatalogOf<E, O> {
  version: string;
  extensions: E[];
  overlays: O[];
  /**
   * `"unknown-offline"` on taloskit's offline snapshot of a version it holds no
   * image digests of: names and membership are the factory's, but `ref` and
   * `digest` are left out, since only the factory (or the registry) knows them.
   * Absent when every entry carries the factory's ref and digest.
   */
  digests?: "unknown-offline";
}
/** A catalog from the factory or the offline snapshot. */
export type Catalog = CatalogOf<CatalogExtension, CatalogOverlay>;

/** Overlays (board support) with the first minor whose UI lists the board. */
const OVERLAYS: [name: string, image: string, since: string][] = [
  ["rpi_generic", "sbc-raspberrypi", "1.7"],
  ["rpi_5", "sbc-raspberrypi", "1.12"],
  ["revpi_generic", "sbc-raspberrypi", "1.10"],
  ["bananapi_m64", "sbc-allwinner", "1.7"],
  ["libretech_all_h3_cc_h5", "sbc-allwinner", "1.7"],
  ["pine64", "sbc-allwinner", "1.7"],
  ["jetson_nano", "sbc-jetson", "1.7"],
  ["nanopi-r4s", "sbc-rockchip", "1.7"],
  ["nanopi-r5s", "sbc-rockchip", "1.8"],
  ["orangepi-r1-plus-lts", "sbc-rockchip", "1.7"],
  ["rock64", "sbc-rockchip", "1.7"],
  ["rockpro64", "sbc-rockchip", "1.10"],
  ["rockpi4", "sbc-rockchip", "1.7"],
  ["rockpi4c", "sbc-rockchip", "1.7"],
  ["rock4cplus", "sbc-rockchip", "1.7"],
  ["rock4se", "sbc-rockchip", "1.8"],
  ["helios64", "sbc-rockchip", "1.8"],
  ["rock5a", "sbc-rockchip", "1.10"],
  ["rock5b", "sbc-rockchip", "1.9"],
  ["rock5b-plus", "sbc-rockchip", "1.13"],
  ["rock5t", "sbc-rockchip", "1.12"],
  ["rock3b", "sbc-rockchip", "1.12"],
  ["radxa-zero-3e", "sbc-rockchip", "1.12"],
  ["odroid-m1", "sbc-rockchip", "1.12"],
  ["orangepi-5", "sbc-rockchip", "1.9"],
  ["orangepi-5-plus", "sbc-rockchip", "1.10"],
  ["orangepi-5-max", "sbc-rockchip", "1.12"],
  ["turingrk1", "sbc-rockchip", "1.9"],
  ["friendlyelec-cm3588-nas", "sbc-rockchip", "1.13"],
];

/** Extensions whose content exists for one architecture only. */
export const ARCH_ONLY: Readonly<Record<string, Arch>> = {
  "siderolabs/amd-ucode": "amd64",
  "siderolabs/intel-ucode": "amd64",
  "siderolabs/i915": "amd64",
  "siderolabs/amdgpu": "amd64",
  "siderolabs/xe": "amd64",
  "siderolabs/intel-npu": "amd64",
  "siderolabs/mei": "amd64",
  "siderolabs/kata-containers-snp": "amd64",
  "siderolabs/vc4": "arm64",
  "siderolabs/panfrost": "arm64",
  "siderolabs/rockchip-rknn": "arm64",
};

/**
 * Old extension names and what replaced them. The NVIDIA names split into
 * `-lts` and `-production` branches in 1.8 (the factory maps the old name to
 * `-lts`); `i915-ucode` and `amdgpu-firmware` became `i915` and `amdgpu` in 1.9.
 */
export const LEGACY_EXTENSIONS: Readonly<
  Record<string, { replacement: string; since: string; alternatives?: string[] }>
> = {
  "siderolabs/nonfree-kmod-nvidia": {
    replacement: "siderolabs/nonfree-kmod-nvidia-lts",
    since: "1.8",
    alternatives: ["siderolabs/nonfree-kmod-nvidia-production"],
  },
  "siderolabs/nvidia-open-gpu-kernel-modules": {
    replacement: "siderolabs/nvidia-open-gpu-kernel-modules-lts",
    since: "1.8",
    alternatives: ["siderolabs/nvidia-open-gpu-kernel-modules-production"],
  },
  "siderolabs/nvidia-container-toolkit": {
    replacement: "siderolabs/nvidia-container-toolkit-lts",
    since: "1.8",
    alternatives: ["siderolabs/nvidia-container-toolkit-production"],
  },
  "siderolabs/nvidia-fabricmanager": {
    replacement: "siderolabs/nvidia-fabricmanager-lts",
    since: "1.8",
    alternatives: ["siderolabs/nvidia-fabricmanager-production"],
  },
  "siderolabs/i915-ucode": { replacement: "siderolabs/i915", since: "1.9" },
  "siderolabs/amdgpu-firmware": { replacement: "siderolabs/amdgpu", since: "1.9" },
  "siderolabs/v4l-uvc": { replacement: "siderolabs/v4l-uvc-drivers", since: "1.7" },
  "siderolabs/usb-modem": { replacement: "siderolabs/usb-modem-drivers", since: "1.7" },
  "siderolabs/gasket": { replacement: "siderolabs/gasket-driver", since: "1.7" },
  "siderolabs/talos-vmtoolsd": { replacement: "siderolabs/vmtoolsd-guest-agent", since: "1.7" },
  "siderolabs/xe-guest-utilities": { replacement: "siderolabs/xen-guest-agent", since: "1.7" },
};

/** The legacy entry of an extension name: own entries only (no `constructor` from the prototype). */
function legacyExtension(name: string): (typeof LEGACY_EXTENSIONS)[string] | undefined {
  return Object.hasOwn(LEGACY_EXTENSIONS, name) ? LEGACY_EXTENSIONS[name] : undefined;
}

/** The name the factory builds for an extension name (it maps some old names itself). */
export function factoryExtensionAlias(name: string): string {
  return legacyExtension(name)?.replacement ?? name;
}

const SINCE: [string, string][] = EXTENSION_SINCE.trim()
  .split("\n")
  .map((line) => line.split(" ") as [string, string]);

/** Talos minors the offline snapshot covers (1.9 to 1.14). */
export const OFFLINE_MINORS: readonly string[] = SNAPSHOT_MINORS;

/**
 * The catalog we ship for a Talos version, built from our own data: names and
 * the first minor of each are the factory's. Image refs and digests are given
 * only for the exact versions the snapshot was refreshed from a factory at
 * (IMAGE_DIGESTS); for any other version they are left out and the catalog says
 * `digests: "unknown-offline"` (extension images are built per Talos release,
 * so another patch's digests would be wrong). Throws for a minor outside the snapshot.
 */
export function offlineCatalog(version: string): Catalog {
  const tag = talosTag(version);
  const minor = minorOf(tag);
  if (!OFFLINE_MINORS.includes(minor)) {
    throw new SchematicError(`no offline catalog for Talos ${tag}`, [
      `the snapshot covers ${OFFLINE_MINORS[0]} to ${OFFLINE_MINORS[OFFLINE_MINORS.length - 1]}; fetch the live catalog instead`,
    ]);
  }
  const images = Object.hasOwn(IMAGE_DIGESTS, tag) ? IMAGE_DIGESTS[tag] : undefined;
  const image = (name: string) => {
    const pinned = images && Object.hasOwn(images, name) ? images[name] : undefined;
    return pinned ? { ref: pinned[0], digest: pinned[1] } : {};
  };
  const extensions: CatalogExtension[] = SINCE.filter(([, since]) => atLeastMinor(tag, since)).map(
    ([short]) => {
      const name = `siderolabs/${short}`;
      return { name, ...image(name), author: "Sidero Labs", description: "" };
    },
  );
  const overlays: CatalogOverlay[] = supports(tag, "overlays")
    ? OVERLAYS.filter(([, , since]) => atLeastMinor(tag, since)).map(([name, image_]) => ({
        name,
        image: `siderolabs/${image_}`,
        ...image(`overlay:${name}`),
      }))
    : [];
  const complete = [...extensions, ...overlays].every((e) => e.digest !== undefined);
  return complete
    ? { version: tag, extensions, overlays }
    : { version: tag, extensions, overlays, digests: "unknown-offline" };
}

export interface SchematicIssue {
  /** Stable kind of problem. */
  code:
    | "UNKNOWN_EXTENSION"
    | "LEGACY_EXTENSION"
    | "MIXED_NVIDIA_BRANCHES"
    | "WRONG_ARCH"
    | "DUPLICATE_EXTENSION"
    | "UNSORTED_EXTENSIONS"
    | "UNKNOWN_OVERLAY"
    | "OVERLAY_UNSUPPORTED"
    | "EMBEDDED_CONFIG_UNSUPPORTED"
    | "INVALID_ENROLL_KEYS";
  severity: "error" | "warning";
  /** Field path, e.g. `customization.systemExtensions.officialExtensions.2`. */
  path: string;
  message: string;
  /** What to use instead, when there is one obvious answer. */
  replacement?: string;
}

export interface ValidationResult {
  ok: boolean;
  issues: SchematicIssue[];
  /** Extensions sorted the way the factory UI sorts them. */
  sortedExtensions: string[];
}

/**
 * Checks a schematic against a version's catalog: unknown names, legacy names
 * and their replacements, NVIDIA branches mixed, content missing for `arch`,
 * version gates. Errors would make the factory refuse to build; warnings are
 * advice (such as extension order differing from the UI's).
 */
export function validateSchematic(
  schematic: Schematic,
  catalog: Catalog,
  options: { arch?: Arch } = {},
): ValidationResult {
  const issues: SchematicIssue[] = [];
  const tag = catalog.version;
  const known = new Set(catalog.extensions.map((e) => e.name));
  const exts = schematic.customization?.systemExtensions?.officialExtensions ?? [];
  const base = "customization.systemExtensions.officialExtensions";
  const seen = new Set<string>();
  exts.forEach((name, i) => {
    const path = `${base}.${i}`;
    if (seen.has(name)) {
      issues.push({
        code: "DUPLICATE_EXTENSION",
        severity: "error",
        path,
        message: `${name} is listed twice`,
      });
    }
    seen.add(name);
    const legacy = legacyExtension(name);
    if (!known.has(name)) {
      if (legacy && known.has(legacy.replacement)) {
        const alt = legacy.alternatives?.length ? ` (or ${legacy.alternatives.join(", ")})` : "";
        issues.push({
          code: "LEGACY_EXTENSION",
          severity: "error",
          path,
          message: `${name} was replaced in Talos ${legacy.since}: use ${legacy.replacement}${alt}`,
          replacement: legacy.replacement,
        });
      } else {
        issues.push({
          code: "UNKNOWN_EXTENSION",
          severity: "error",
          path,
          message: `${name} is not an official extension of Talos ${tag}`,
        });
      }
    }
    const only = ARCH_ONLY[name];
    if (options.arch && only && only !== options.arch) {
      issues.push({
        code: "WRONG_ARCH",
        severity: "error",
        path,
        message: `${name} has content for ${only} only, not ${options.arch}`,
      });
    }
  });
  const nvidia = exts.filter((n) => /nvidia/.test(n));
  const branches = new Set(
    nvidia
      .map((n) =>
        n.endsWith("-lts") ? "lts" : n.endsWith("-production") ? "production" : undefined,
      )
      .filter(Boolean),
  );
  if (branches.size > 1) {
    issues.push({
      code: "MIXED_NVIDIA_BRANCHES",
      severity: "error",
      path: base,
      message: `NVIDIA extensions mix the -lts and -production branches (${nvidia.join(", ")}); pick one branch`,
    });
  }
  const sorted = sortExtensions(exts);
  if (sorted.some((n, i) => n !== exts[i])) {
    issues.push({
      code: "UNSORTED_EXTENSIONS",
      severity: "warning",
      path: base,
      message:
        "extensions are not in the byte order the factory UI uses, so the ID differs from the UI's for the same set",
    });
  }
  const overlay = schematic.overlay;
  if (overlay && (overlay.name || overlay.image)) {
    if (!supports(tag, "overlays")) {
      issues.push({
        code: "OVERLAY_UNSUPPORTED",
        severity: "error",
        path: "overlay",
        message: `overlays need Talos 1.7 or later, not ${tag}`,
      });
    } else if (!catalog.overlays.some((o) => o.name === overlay.name)) {
      issues.push({
        code: "UNKNOWN_OVERLAY",
        severity: "error",
        path: "overlay.name",
        message: `overlay "${overlay.name ?? ""}" is not in the catalog of Talos ${tag}`,
      });
    }
    if (options.arch && options.arch !== "arm64") {
      issues.push({
        code: "WRONG_ARCH",
        severity: "error",
        path: "overlay",
        message: `board overlays are arm64 only, not ${options.arch}`,
      });
    }
  }
  if (schematic.customization?.embeddedMachineConfiguration && !supports(tag, "embeddedConfig")) {
    issues.push({
      code: "EMBEDDED_CONFIG_UNSUPPORTED",
      severity: "error",
      path: "customization.embeddedMachineConfiguration",
      message: `an embedded machine configuration needs Talos 1.12 or later, not ${tag}`,
    });
  }
  const enroll = schematic.customization?.secureboot?.enrollKeys;
  if (enroll && !["off", "manual", "if-safe", "force"].includes(enroll)) {
    issues.push({
      code: "INVALID_ENROLL_KEYS",
      severity: "error",
      path: "customization.secureboot.enrollKeys",
      message: `"${enroll}" is not one of off, manual, if-safe, force`,
    });
  }
  return { ok: !issues.some((i) => i.severity === "error"), issues, sortedExtensions: sorted };
}

/** validateSchematic that throws a SchematicError listing every error. */
export function assertValidSchematic(
  schematic: Schematic,
  catalog: Catalog,
  options: { arch?: Arch } = {},
): ValidationResult {
  const result = validateSchematic(schematic, catalog, options);
  if (!result.ok) {
    throw new SchematicError(
      `schematic does not fit Talos ${catalog.version}`,
      result.issues.filter((i) => i.severity === "error").map((i) => `${i.path}: ${i.message}`),
    );
  }
  return result;
}
