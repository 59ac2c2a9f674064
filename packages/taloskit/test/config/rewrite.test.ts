// rewriteJson6902: JSON6902 patches as strategic patches (Go-free; the conformance
// run checks the same against Talos on thousands of generated patches).
import { describe, expect, it } from "vitest";
import { ConfigPatchError } from "../../src/config/errors.js";
import { patchConfig } from "../../src/config/patch.js";
import { rewriteJson6902 } from "../../src/config/rewrite.js";
import { fixture, semantic } from "./helpers.js";

const LEGACY = `version: v1alpha1
machine:
  type: worker
  certSANs: [a.example]
  network:
    hostname: old
  sysctls:
    vm.x: "1"
cluster:
  network:
    podSubnets: [10.244.0.0/16]
`;
const MULTI = `${LEGACY}---
apiVersion: v1alpha1
kind: KubeletConfig
image: ghcr.io/siderolabs/kubelet:v1.33.0
`;

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigPatchError);
    return (err as ConfigPatchError).code;
  }
  return "no error";
}

/** The rewritten patch on the whole config does to the v1alpha1 document what JSON6902 does to it alone. */
function agrees(ops: object[]): void {
  const json = JSON.stringify(ops);
  const expected = semantic(patchConfig(LEGACY, [json]).text);
  const rewritten = rewriteJson6902(MULTI, json);
  const via = semantic(patchConfig(MULTI, [rewritten.patch]).text);
  expect(via[0]).toEqual(expected[0]);
  expect(via.slice(1)).toEqual(semantic(MULTI).slice(1));
}

describe("rewriteJson6902", () => {
  it("turns add and replace into merged values", () => {
    const r = rewriteJson6902(MULTI, [
      { op: "replace", path: "/machine/network/hostname", value: "new" },
      { op: "add", path: "/machine/sysctls/vm.y", value: "2" },
    ]);
    // below the top level a changed field is cleared and its whole new value merged back
    expect(r.documents).toEqual([
      { machine: { network: { $patch: "delete" }, sysctls: { $patch: "delete" } } },
      { machine: { network: { hostname: "new" }, sysctls: { "vm.x": "1", "vm.y": "2" } } },
    ]);
    agrees([{ op: "replace", path: "/machine/network/hostname", value: "new" }]);
  });

  it("turns remove into $patch: delete", () => {
    const r = rewriteJson6902(MULTI, [{ op: "remove", path: "/machine/sysctls" }]);
    expect(r.documents).toEqual([{ machine: { sysctls: { $patch: "delete" } } }]);
    expect(r.text).toContain("$patch: delete");
    agrees([{ op: "remove", path: "/machine/sysctls" }]);
  });

  it("writes a changed list whole after a delete (Talos would append)", () => {
    const append = rewriteJson6902(MULTI, [{ op: "add", path: "/machine/certSANs/-", value: "b" }]);
    expect(append.documents).toEqual([
      { machine: { certSANs: { $patch: "delete" } } },
      { machine: { certSANs: ["a.example", "b"] } },
    ]);
    agrees([{ op: "add", path: "/machine/certSANs/-", value: "b" }]);
    agrees([{ op: "add", path: "/machine/certSANs/0", value: "first" }]);
    agrees([{ op: "remove", path: "/machine/certSANs/0" }]);
    agrees([{ op: "add", path: "/cluster/network/podSubnets/-", value: "10.0.0.0/8" }]);
  });

  it("handles move, copy, test and zero values", () => {
    agrees([
      { op: "test", path: "/machine/type", value: "worker" },
      { op: "copy", from: "/machine/network/hostname", path: "/machine/sysctls/vm.copy" },
      { op: "move", from: "/machine/sysctls/vm.x", path: "/machine/sysctls/vm.z" },
      { op: "replace", path: "/machine/type", value: "" },
    ]);
  });

  it("gives an empty patch when nothing changes", () => {
    const r = rewriteJson6902(MULTI, [{ op: "test", path: "/machine/type", value: "worker" }]);
    expect(r.documents).toEqual([]);
    expect(r.text).toBe("");
  });

  it("refuses what it cannot express, with typed errors", () => {
    expect(code(() => rewriteJson6902(MULTI, [{ op: "remove", path: "/version" }]))).toBe(
      "CONFIG_JSONPATCH_UNREWRITABLE",
    );
    expect(
      code(() => rewriteJson6902(MULTI, [{ op: "add", path: "/kind", value: "LinkConfig" }])),
    ).toBe("CONFIG_JSONPATCH_UNREWRITABLE");
    expect(code(() => rewriteJson6902(MULTI, [{ op: "replace", path: "", value: [1] }]))).toBe(
      "CONFIG_JSONPATCH_UNREWRITABLE",
    );
    const kubelet = "apiVersion: v1alpha1\nkind: KubeletConfig\nimage: x\n";
    expect(code(() => rewriteJson6902(kubelet, "[{op: remove, path: /image}]"))).toBe(
      "CONFIG_JSONPATCH_UNREWRITABLE",
    );
    expect(code(() => rewriteJson6902(MULTI, [{ op: "remove", path: "/nope" }]))).toBe(
      "CONFIG_JSONPATCH_FAILED",
    );
    expect(code(() => rewriteJson6902(MULTI, "machine: {type: worker}"))).toBe("CONFIG_BAD_PATCH");
  });

  it("rewrites the shared multi-document JSON6902 case that Talos refuses", () => {
    const base = fixture("multidoc/config.yaml");
    const json = fixture("multidoc/jsonpatch.yaml");
    expect(code(() => patchConfig(base, [json]))).toBe("CONFIG_JSONPATCH_MULTIDOC");
    const r = rewriteJson6902(base, json);
    expect(() => patchConfig(base, [r.patch])).not.toThrow();
  });
});
