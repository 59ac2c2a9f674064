import { compareVersions } from "@taloskit/core";
import { describe, expect, it } from "vitest";
import {
  assertValidSchematic,
  assetPaths,
  assetUrls,
  defaultPxeUrl,
  FactoryClient,
  VANILLA_SCHEMATIC_ID as ID,
  installerImage,
  MemoryCache,
  offlineCatalog,
  SchematicError,
  schematic,
  validateSchematic,
} from "../src/index.js";

const F = "https://factory.talos.dev";
const t = (version: string, extra: object = {}) => ({
  schematicId: ID,
  version,
  arch: "amd64" as const,
  ...extra,
});

describe("asset paths and URLs", () => {
  it("writes every profile", () => {
    expect(assetPaths.iso(t("1.12.0"))).toBe("metal-amd64.iso");
    expect(assetPaths.iso(t("1.12.0", { secureBoot: true }))).toBe("metal-amd64-secureboot.iso");
    expect(assetPaths.diskImage(t("1.12.0"))).toBe("metal-amd64.raw.zst");
    expect(assetPaths.diskImage(t("1.7.0"))).toBe("metal-amd64.raw.xz");
    expect(assetPaths.diskImage(t("1.12.0", { platform: "gcp" }))).toBe("gcp-amd64.raw.tar.gz");
    expect(assetPaths.diskImage(t("1.12.0", { platform: "vmware" }))).toBe("vmware-amd64.ova");
    expect(assetPaths.diskImage(t("1.12.0"), { format: "qcow2" })).toBe("metal-amd64.qcow2");
    expect(
      assetPaths.diskImage(t("1.12.0", { platform: "aws", secureBoot: true }), {
        format: "qcow2",
        compression: "tar.gz",
      }),
    ).toBe("aws-amd64-secureboot.qcow2.tar.gz");
    expect(assetPaths.uki(t("1.12.0", { secureBoot: true }))).toBe(
      "metal-amd64-secureboot-uki.efi",
    );
    expect(assetPaths.kernel(t("1.12.0"))).toBe("kernel-amd64");
    expect(assetPaths.initramfs(t("1.12.0"))).toBe("initramfs-amd64.xz");
    expect(assetPaths.cmdline(t("1.12.0", { platform: "aws" }))).toBe("cmdline-aws-amd64");
    expect(assetPaths.installerTarball(t("1.12.0", { platform: "aws" }))).toBe(
      "aws-installer-amd64.tar",
    );
    expect(assetPaths.installerTarball(t("1.9.0"))).toBe("installer-amd64.tar");
  });

  it("enforces version gates", () => {
    expect(() => assetPaths.diskImage(t("1.7.0"), { compression: "zst" })).toThrow(
      /zstd disk images need Talos 1.8/,
    );
    expect(() => assetPaths.uki(t("1.4.0"))).toThrow(/1.5/);
    expect(() => assetPaths.iso(t("1.13.0", { platform: "alibabacloud" }))).toThrow(
      /alibabacloud needs Talos 1.14/,
    );
    expect(() => assetPaths.iso({ ...t("1.12.0"), schematicId: "x" })).toThrow(/64-digit hex/);
    expect(() => assetPaths.iso({ ...t("1.12.0"), arch: "riscv" as "amd64" })).toThrow(
      /arch "riscv"/,
    );
  });

  it("names installer images, with the legacy form before 1.10", () => {
    expect(installerImage(F, { schematicId: ID, version: "1.10.0" })).toBe(
      `factory.talos.dev/metal-installer/${ID}:v1.10.0`,
    );
    expect(
      installerImage(F, { schematicId: ID, version: "v1.12.0", platform: "aws", secureBoot: true }),
    ).toBe(`factory.talos.dev/aws-installer-secureboot/${ID}:v1.12.0`);
    expect(installerImage(F, { schematicId: ID, version: "1.9.5", secureBoot: true })).toBe(
      `factory.talos.dev/installer-secureboot/${ID}:v1.9.5`,
    );
  });

  it("lists the UI's links for a platform", () => {
    const urls = assetUrls(F, "https://pxe.factory.talos.dev", t("1.12.0"));
    expect(urls.iso).toBe(`${F}/image/${ID}/v1.12.0/metal-amd64.iso`);
    expect(urls.pxe).toBe(`https://pxe.factory.talos.dev/pxe/${ID}/v1.12.0/metal-amd64`);
    expect(assetUrls(F, F, t("1.12.0", { platform: "aws" })).iso).toBeUndefined();
  });

  it("serves PXE from pxe.factory.talos.dev for the public factory, from the factory itself otherwise", () => {
    expect(defaultPxeUrl(F)).toBe("https://pxe.factory.talos.dev");
    expect(defaultPxeUrl(`${F}/`)).toBe("https://pxe.factory.talos.dev");
    expect(defaultPxeUrl("https://factory.example.com/")).toBe("https://factory.example.com");
    expect(new FactoryClient({ fetch: async () => new Response() }).pxeBaseUrl).toBe(
      "https://pxe.factory.talos.dev",
    );
    expect(
      new FactoryClient({
        baseUrl: "https://factory.example.com/",
        fetch: async () => new Response(),
      }).pxeBaseUrl,
    ).toBe("https://factory.example.com");
  });

  it("orders versions", () => {
    expect(["v1.10.0", "1.9.0", "v1.10.0-beta.1", "v1.10.0-alpha.2"].sort(compareVersions)).toEqual(
      ["1.9.0", "v1.10.0-alpha.2", "v1.10.0-beta.1", "v1.10.0"],
    );
  });
});

describe("catalog validation", () => {
  it("builds offline catalogs from our data", () => {
    const c = offlineCatalog("1.12.3");
    expect(c.version).toBe("v1.12.3");
    expect(c.extensions.map((e) => e.name)).toContain("siderolabs/xe");
    expect(offlineCatalog("1.11.0").extensions.map((e) => e.name)).not.toContain("siderolabs/xe");
    expect(c.overlays.map((o) => o.name)).toContain("rpi_5");
    expect(() => offlineCatalog("1.6.0")).toThrow(SchematicError);
  });

  it("finds unknown and legacy names, mixed NVIDIA branches, wrong arch and order", () => {
    const s = schematic()
      .keepExtensionOrder()
      .extensions(
        "siderolabs/nvidia-open-gpu-kernel-modules-production",
        "siderolabs/nvidia-container-toolkit-lts",
        "i915-ucode",
        "nope",
        "vc4",
      )
      .build();
    const r = validateSchematic(s, offlineCatalog("1.10.0"), { arch: "amd64" });
    expect(r.ok).toBe(false);
    const codes = r.issues.map((i) => `${i.code}@${i.path}`);
    expect(codes).toEqual(
      expect.arrayContaining([
        "LEGACY_EXTENSION@customization.systemExtensions.officialExtensions.2",
        "UNKNOWN_EXTENSION@customization.systemExtensions.officialExtensions.3",
        "WRONG_ARCH@customization.systemExtensions.officialExtensions.4",
        "MIXED_NVIDIA_BRANCHES@customization.systemExtensions.officialExtensions",
        "UNSORTED_EXTENSIONS@customization.systemExtensions.officialExtensions",
      ]),
    );
    expect(r.issues.find((i) => i.code === "LEGACY_EXTENSION")?.replacement).toBe(
      "siderolabs/i915",
    );
    const nvidia = validateSchematic(
      schematic().extensions("nonfree-kmod-nvidia").build(),
      offlineCatalog("1.9.0"),
    );
    expect(nvidia.issues[0]?.message).toMatch(
      /replaced in Talos 1.8: use siderolabs\/nonfree-kmod-nvidia-lts \(or siderolabs\/nonfree-kmod-nvidia-production\)/,
    );
  });

  it("checks overlays and embedded config against the version", () => {
    const board = schematic().overlay("rpi_5", "siderolabs/sbc-raspberrypi").build();
    expect(validateSchematic(board, offlineCatalog("1.12.0"), { arch: "arm64" }).ok).toBe(true);
    expect(validateSchematic(board, offlineCatalog("1.11.0")).issues[0]?.code).toBe(
      "UNKNOWN_OVERLAY",
    );
    const cfg = schematic().embeddedMachineConfiguration("kind: HostnameConfig\n").build();
    expect(() => assertValidSchematic(cfg, offlineCatalog("1.11.0"))).toThrow(
      /embeddedMachineConfiguration: .*1.12/,
    );
    expect(
      validateSchematic(
        schematic().extensions("amd-ucode", "iscsi-tools").build(),
        offlineCatalog("1.14.0"),
        { arch: "amd64" },
      ),
    ).toEqual({
      ok: true,
      issues: [],
      sortedExtensions: ["siderolabs/amd-ucode", "siderolabs/iscsi-tools"],
    });
  });

  it("caches with expiry and a size bound", () => {
    let now = 0;
    const cache = new MemoryCache(2, () => now);
    cache.set("a", 1, 10);
    cache.set("b", 2, 100);
    cache.set("c", 3, 100);
    expect(cache.get("a")).toBeUndefined();
    now = 50;
    expect(cache.get("b")).toBe(2);
    now = 200;
    expect(cache.get("c")).toBeUndefined();
  });
});
