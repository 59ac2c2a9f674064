// Version paths and Kubernetes compatibility: pure functions, no network.
import { describe, expect, it } from "vitest";
import {
  checkKubernetes,
  parseCatalog,
  TALOS_COMPATIBILITY,
  UpgradeError,
  versionPath,
} from "../../src/upgrade/index.js";
import { BROKEN, FACTORY_VERSIONS } from "./helpers.js";

const catalog = { available: FACTORY_VERSIONS, broken: BROKEN };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UpgradeError);
    return (error as UpgradeError).code;
  }
  return undefined;
}

describe("versionPath", () => {
  it("jumps where Talos's installer accepts the node, else through the newest usable patch of the furthest minor that does", () => {
    // Talos 1.14 upgrades hosts from 1.12 on: one jump.
    expect(versionPath("v1.12.0", "v1.14.0", catalog)).toEqual(["v1.14.0"]);
    // 1.14 refuses a 1.11 host; 1.13 takes it (its oldest host is 1.11), then 1.14 takes 1.13.
    expect(versionPath("1.11.5", "1.14.0", catalog)).toEqual(["v1.13.3", "v1.14.0"]);
    // With every 1.13 release broken, the way goes through 1.12.
    expect(
      versionPath("v1.11.5", "v1.14.0", {
        available: FACTORY_VERSIONS,
        broken: ["v1.13.0", "v1.13.3", "v1.13.4"],
      }),
    ).toEqual(["v1.12.4", "v1.14.0"]);
  });

  it("goes straight to a patch of the same minor, and is empty at the target", () => {
    expect(versionPath("v1.12.0", "v1.12.4", catalog)).toEqual(["v1.12.4"]);
    expect(versionPath("v1.14.0", "v1.14.0", catalog)).toEqual([]);
  });

  it("never uses a prerelease on the way, but accepts one as the explicit target", () => {
    expect(versionPath("v1.13.0", "v1.14.1-beta.0", catalog)).toEqual(["v1.14.1-beta.0"]);
    expect(
      versionPath("v1.11.0", "v1.14.0", {
        available: ["v1.12.0", "v1.13.9-rc.0", "v1.13.1", "v1.14.0"],
      }),
    ).toEqual(["v1.13.1", "v1.14.0"]);
  });

  it("refuses impossible jumps with stable codes", () => {
    expect(codeOf(() => versionPath("v1.14.0", "v1.13.3", catalog))).toBe(
      "UPGRADE_IMPOSSIBLE_JUMP",
    );
    expect(codeOf(() => versionPath("v0.14.0", "v1.14.0", catalog))).toBe(
      "UPGRADE_IMPOSSIBLE_JUMP",
    );
    expect(codeOf(() => versionPath("v1.12.0", "v1.13.4", catalog))).toBe("UPGRADE_TARGET_BROKEN");
    expect(codeOf(() => versionPath("v1.12.0", "v1.15.0", catalog))).toBe("UPGRADE_TARGET_UNKNOWN");
    expect(codeOf(() => versionPath("latest", "v1.14.0", catalog))).toBe(
      "UPGRADE_INVALID_ARGUMENT",
    );
    // 1.13 refuses a 1.10 host and every 1.11 and 1.12 release is broken: no way.
    expect(
      codeOf(() =>
        versionPath("v1.10.3", "v1.13.3", {
          available: FACTORY_VERSIONS,
          broken: ["v1.11.5", "v1.12.0", "v1.12.4"],
        }),
      ),
    ).toBe("UPGRADE_NO_PATH");
  });
});

describe("a catalog parsed once", () => {
  it("plans the same paths and refusals as the raw catalog", () => {
    const parsed = parseCatalog(catalog);
    for (const [from, to] of [
      ["v1.11.5", "v1.14.0"],
      ["v1.12.0", "v1.12.4"],
      ["v1.13.3", "v1.14.1-beta.0"],
      ["v1.14.0", "v1.14.0"],
    ] as const) {
      expect(versionPath(from, to, parsed)).toEqual(versionPath(from, to, catalog));
    }
    expect(codeOf(() => versionPath("v1.12.0", "v1.13.4", parsed))).toBe("UPGRADE_TARGET_BROKEN");
    expect(codeOf(() => versionPath("v1.12.0", "v1.15.0", parsed))).toBe("UPGRADE_TARGET_UNKNOWN");
  });
});

describe("Kubernetes compatibility", () => {
  it("has a row for each minor the SDK targets", () => {
    for (const m of ["1.12", "1.13", "1.14"]) expect(TALOS_COMPATIBILITY[m]).toBeDefined();
  });

  it("accepts a version every Talos on the path supports and names the ones that do not", () => {
    expect(checkKubernetes("v1.34.1", ["v1.13.3", "v1.14.0"]).ok).toBe(true);
    const old = checkKubernetes("1.31.4", ["v1.13.3", "v1.14.0"]);
    expect(old.ok).toBe(false);
    expect(old.problems).toEqual(["Talos v1.14.0 supports Kubernetes 1.32 to 1.37"]);
    const unknown = checkKubernetes("1.34.0", ["v1.1.0"]);
    expect(unknown).toMatchObject({ ok: true, unknown: ["v1.1.0"] });
    expect(checkKubernetes(undefined, ["v1.14.0"]).ok).toBe(true);
    // Both ends of a range are inclusive, by minor, however the version is spelled.
    expect(checkKubernetes("v1.32", ["v1.14.0"]).ok).toBe(true);
    expect(checkKubernetes("1.37.9", ["v1.14.0"]).ok).toBe(true);
    expect(checkKubernetes("v1.38.0", ["v1.14.0"]).ok).toBe(false);
    expect(checkKubernetes("2.0.0", ["v1.14.0"]).ok).toBe(false);
  });
});
