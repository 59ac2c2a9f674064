// Hand-made merge cases beyond the upstream conformance data, and every error path.
import { describe, expect, it } from "vitest";
import { unifiedDiff } from "../../src/config/diff.js";
import { ConfigPatchError } from "../../src/config/errors.js";
import { loadPatch, loadPatches, patchConfig } from "../../src/config/patch.js";
import { semantic } from "./helpers.js";

function merged(base: string, ...patches: string[]): unknown[] {
  return semantic(patchConfig(base, patches).text);
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigPatchError);
    return (err as ConfigPatchError).code;
  }
  return "no error";
}

const BASE = `# cluster config
version: v1alpha1 # legacy document
machine:
  type: worker
  token: abc
  certSANs: [a.example]
  sysctls:
    vm.max_map_count: "262144" # keep me
cluster:
  network:
    podSubnets: [10.244.0.0/16]
  apiServer:
    extraArgs:
      feature-gates: A=true
    admissionControl:
      - name: PodSecurity
        configuration:
          defaults: { enforce: baseline }
  controlPlane:
    endpoint: https://old:6443
`;

describe("strategic merge (hand-made cases)", () => {
  it("keeps comments and key order of the base", () => {
    const out = patchConfig(BASE, [
      "machine:\n  token: xyz\n  sysctls:\n    net.ipv4.ip_forward: '1'\n",
    ]).text;
    expect(out.startsWith("# cluster config\nversion: v1alpha1 # legacy document\n")).toBe(true);
    expect(out).toContain('vm.max_map_count: "262144" # keep me');
    expect(out.indexOf("type: worker")).toBeLessThan(out.indexOf("token: xyz"));
    expect(out.indexOf("vm.max_map_count")).toBeLessThan(out.indexOf("net.ipv4.ip_forward"));
  });

  it("zero values do not replace, false does", () => {
    const [doc] = merged(
      BASE,
      "machine:\n  token: ''\n  type: ''\ncluster:\n  allowSchedulingOnControlPlanes: false\n",
    );
    expect(doc).toMatchObject({ machine: { token: "abc", type: "worker" } });
    const [doc2] = merged(
      "version: v1alpha1\nmachine:\n  install:\n    wipe: true\n    image: img\n",
      "machine:\n  install:\n    wipe: false\n    image: ''\n",
    );
    expect(doc2).toEqual({
      version: "v1alpha1",
      machine: { install: { wipe: false, image: "img" } },
    });
    // Talos's loader refuses a patch value of the wrong type
    expect(
      code(() =>
        merged(
          "version: v1alpha1\nmachine:\n  install:\n    wipe: true\n",
          "machine:\n  install:\n    wipe: 0\n",
        ),
      ),
    ).toBe("CONFIG_BAD_PATCH");
  });

  it("appends ordinary lists and replaces replace-tagged ones", () => {
    const [doc] = merged(
      BASE,
      "machine:\n  certSANs: [b.example]\ncluster:\n  network:\n    podSubnets: [10.10.0.0/16]\n",
    );
    expect(doc).toMatchObject({
      machine: { certSANs: ["a.example", "b.example"] },
      cluster: { network: { podSubnets: ["10.10.0.0/16"] } },
    });
  });

  it("merges admission plugins by name and replaces extraArgs values whole", () => {
    const [doc] = merged(
      BASE,
      "cluster:\n  apiServer:\n    extraArgs:\n      feature-gates: B=true\n      v: '2'\n    admissionControl:\n      - name: PodSecurity\n        configuration:\n          defaults: { audit: restricted }\n      - name: Other\n",
    );
    expect(doc).toMatchObject({
      cluster: {
        apiServer: {
          extraArgs: { "feature-gates": "B=true", v: "2" },
          admissionControl: [
            {
              name: "PodSecurity",
              configuration: { defaults: { enforce: "baseline", audit: "restricted" } },
            },
            { name: "Other" },
          ],
        },
      },
    });
  });

  it("replaces typed-document replace fields and merges configFiles by mountPath", () => {
    const base =
      "apiVersion: v1alpha1\nkind: KubeNetworkConfig\npodSubnets: [10.0.0.0/8]\n---\napiVersion: v1alpha1\nkind: ExtensionServiceConfig\nname: x\nconfigFiles:\n  - {content: a, mountPath: /a}\n";
    const docs = merged(
      base,
      "apiVersion: v1alpha1\nkind: KubeNetworkConfig\npodSubnets: [10.1.0.0/16]\n---\napiVersion: v1alpha1\nkind: ExtensionServiceConfig\nname: x\nconfigFiles:\n  - {content: b, mountPath: /a}\n  - {content: c, mountPath: /c}\n",
    );
    expect(docs).toEqual([
      { apiVersion: "v1alpha1", kind: "KubeNetworkConfig", podSubnets: ["10.1.0.0/16"] },
      {
        apiVersion: "v1alpha1",
        kind: "ExtensionServiceConfig",
        name: "x",
        configFiles: [
          { content: "b", mountPath: "/a" },
          { content: "c", mountPath: "/c" },
        ],
      },
    ]);
  });

  it("matches named documents by name and appends others", () => {
    const base = "apiVersion: v1alpha1\nkind: LinkConfig\nname: eth0\nmtu: 1500\n";
    const out = patchConfig(base, [
      "apiVersion: v1alpha1\nkind: LinkConfig\nname: eth1\nmtu: 9000\n",
    ]);
    expect(out.documents.map((d) => d.id)).toEqual([
      "v1alpha1/LinkConfig/eth0",
      "v1alpha1/LinkConfig/eth1",
    ]);
  });

  it("adds version: v1alpha1 to a legacy document appended to a typed-only config, first as Talos prints it", () => {
    const out = patchConfig("apiVersion: v1alpha1\nkind: LinkConfig\nname: eth0\n", [
      "machine:\n  certSANs: [x]\n",
    ]);
    expect(semantic(out.text)[0]).toEqual({ version: "v1alpha1", machine: { certSANs: ["x"] } });
  });

  it("keeps a replaced scalar's comment and quoting", () => {
    const out = patchConfig('version: v1alpha1\nmachine:\n  token: "old" # secret\n', [
      "machine:\n  token: new\n",
    ]).text;
    expect(out).toContain('token: "new" # secret');
  });

  it("merges inside keyed lists (interfaces by name or deviceSelector, vlans by id), deletes list items by their first key", () => {
    const base = [
      "version: v1alpha1",
      "machine:",
      "  network:",
      "    interfaces:",
      "      - deviceSelector: { hardwareAddr: 'aa:*' }",
      "        mtu: 1500",
      "      - interface: eth1",
      "        vlans:",
      "          - { vlanId: 10, mtu: 1500 }",
      "          - { vlanId: 20, mtu: 1500 }",
      "      - interface: eth2",
      "",
    ].join("\n");
    const patch = [
      "machine:",
      "  network:",
      "    interfaces:",
      "      - deviceSelector: { hardwareAddr: 'aa:*' }",
      "        mtu: 9000",
      "      - interface: eth1",
      "        vlans:",
      "          - { vlanId: 20, mtu: 9000 }",
      "      - interface: eth2",
      "        $patch: delete",
      "",
    ].join("\n");
    expect(merged(base, patch)[0]).toEqual({
      version: "v1alpha1",
      machine: {
        network: {
          interfaces: [
            { deviceSelector: { hardwareAddr: "aa:*" }, mtu: 9000 },
            {
              interface: "eth1",
              vlans: [
                { vlanId: 10, mtu: 1500 },
                { vlanId: 20, mtu: 9000 },
              ],
            },
          ],
        },
      },
    });
    // Talos deletes only top-level list items: a list inside a list item is out of reach,
    // and so is a key inside an item
    const nested =
      "machine:\n  network:\n    interfaces:\n      - interface: eth1\n        vlans:\n          - vlanId: 10\n            $patch: delete\n";
    expect(code(() => merged(base, nested))).toBe("CONFIG_DELETE_MISSING");
    const inner =
      "machine:\n  network:\n    interfaces:\n      - interface: eth1\n        mtu:\n          $patch: delete\n";
    expect(code(() => merged(base, inner))).toBe("CONFIG_BAD_PATCH");
    // the item is found by its first key only, and numbers never match (Talos compares text)
    const byNumber =
      "machine:\n  network:\n    interfaces:\n      - mtu: 1500\n        $patch: delete\n";
    expect(code(() => merged(base, byNumber))).toBe("CONFIG_DELETE_MISSING");
  });

  it("applies a patch's v1alpha1 deletes before its merges, and other deletes in document order", () => {
    // Talos: the delete of the second document runs before the merge of the first
    const [doc] = merged(BASE, "persist: false\n---\npersist:\n  $patch: delete\n");
    expect(doc).toMatchObject({ persist: false });
    const link = "apiVersion: v1alpha1\nkind: LinkConfig\nname: eth0\nmtu: 1500\n";
    const out = merged(
      link,
      "apiVersion: v1alpha1\nkind: LinkConfig\nname: eth0\nmtu: 9000\n---\napiVersion: v1alpha1\nkind: LinkConfig\nname: eth0\nmtu:\n  $patch: delete\n",
    );
    expect(out[0]).toEqual({ apiVersion: "v1alpha1", kind: "LinkConfig", name: "eth0" });
  });

  it("deletes a field the base does not set when Go holds its parents by value, not through a missing pointer or map", () => {
    const base = "version: v1alpha1\nmachine:\n  type: worker\n";
    // machine.install is a pointer that is nil here
    expect(
      code(() => merged(base, "machine:\n  install:\n    disk:\n      $patch: delete\n")),
    ).toBe("CONFIG_DELETE_MISSING");
    // a struct field is cleared whether or not it is set
    expect(merged(base, "machine:\n  token:\n    $patch: delete\n")[0]).toEqual({
      version: "v1alpha1",
      machine: { type: "worker" },
    });
    // a map key must be there
    expect(
      code(() => merged(base, "machine:\n  nodeLabels:\n    a:\n      $patch: delete\n")),
    ).toBe("CONFIG_DELETE_MISSING");
  });

  it("refuses documents of different link kinds that share a name, as Talos's config container does", () => {
    const base = "apiVersion: v1alpha1\nkind: LinkConfig\nname: eth0\n";
    const dummy = "apiVersion: v1alpha1\nkind: DummyLinkConfig\nname: eth0\n";
    expect(code(() => patchConfig(base, [dummy], { talosVersion: "1.14" }))).toBe("CONFIG_INVALID");
    // Talos 1.10 does not have the check (nor the kinds): a volume pair shows it from 1.11
    const vol = "apiVersion: v1alpha1\nkind: UserVolumeConfig\nname: data\n";
    const existing = "apiVersion: v1alpha1\nkind: ExistingVolumeConfig\nname: data\n";
    expect(code(() => patchConfig(vol, [existing], { talosVersion: "1.11" }))).toBe(
      "CONFIG_INVALID",
    );
  });

  it("reports a structured diff", () => {
    const out = patchConfig(BASE, ["cluster:\n  controlPlane:\n    endpoint: https://new:6443\n"]);
    expect(out.diff?.changes).toEqual([
      {
        document: "/v1alpha1",
        path: "cluster.controlPlane.endpoint",
        op: "replace",
        before: "https://old:6443",
        after: "https://new:6443",
      },
    ]);
    expect(out.diff?.unified).toContain(
      "-    endpoint: https://old:6443\n+    endpoint: https://new:6443",
    );
    expect(patchConfig(BASE, [], { diff: false }).diff).toBeUndefined();
  });

  it("applies JSON6902 operations to a single-document config", () => {
    const ops = JSON.stringify([
      { op: "test", path: "/machine/type", value: "worker" },
      { op: "add", path: "/machine/certSANs/-", value: "z" },
      { op: "copy", from: "/machine/token", path: "/machine/copied" },
      { op: "move", from: "/machine/copied", path: "/machine/moved" },
      { op: "remove", path: "/machine/sysctls" },
      { op: "replace", path: "/machine/type", value: "controlplane" },
    ]);
    const [doc] = merged(BASE, ops);
    expect(doc).toMatchObject({
      machine: { type: "controlplane", certSANs: ["a.example", "z"], moved: "abc" },
    });
    expect((doc as { machine: Record<string, unknown> }).machine.sysctls).toBeUndefined();
  });

  it("unified diff hunks match diff -u", () => {
    const a = Array.from({ length: 40 }, (_, i) => `line ${i}`);
    const b = [...a];
    b[2] = "changed 2";
    b.splice(20, 2);
    b.push("new end");
    b.unshift("new start");
    const expected = [
      "--- a",
      "+++ b",
      "@@ -1,6 +1,7 @@",
      "+new start",
      " line 0",
      " line 1",
      "-line 2",
      "+changed 2",
      " line 3",
      " line 4",
      " line 5",
      "@@ -18,8 +19,6 @@",
      " line 17",
      " line 18",
      " line 19",
      "-line 20",
      "-line 21",
      " line 22",
      " line 23",
      " line 24",
      "@@ -38,3 +37,4 @@",
      " line 37",
      " line 38",
      " line 39",
      "+new end",
      "",
    ].join("\n");
    expect(unifiedDiff(`${a.join("\n")}\n`, `${b.join("\n")}\n`, { from: "a", to: "b" })).toBe(
      expected,
    );
  });

  it("unified diff is empty for equal texts", () => {
    expect(unifiedDiff("a\n", "a\n")).toBe("");
  });
});

describe("error paths", () => {
  it("bad YAML in a patch or base", () => {
    expect(code(() => patchConfig(BASE, ["machine: [1\nx: 2"]))).toBe("CONFIG_BAD_YAML");
    expect(code(() => patchConfig("a: [", []))).toBe("CONFIG_BAD_YAML");
    expect(code(() => patchConfig("- 1\n", []))).toBe("CONFIG_BAD_DOCUMENT");
  });

  it("unknown kinds, for any version or for the target one", () => {
    expect(code(() => patchConfig(BASE, ["apiVersion: v1alpha1\nkind: NoSuchConfig\n"]))).toBe(
      "CONFIG_UNKNOWN_KIND",
    );
    const kms = "apiVersion: v1alpha1\nkind: KernelModuleConfig\nname: nvidia\n";
    expect(code(() => patchConfig(BASE, [kms], { talosVersion: "1.13" }))).toBe(
      "CONFIG_UNKNOWN_KIND",
    );
    expect(patchConfig(BASE, [kms], { talosVersion: "v1.14.1" }).documents).toHaveLength(2);
    expect(code(() => patchConfig(BASE, [kms], { talosVersion: "1.9" }))).toBe(
      "CONFIG_UNKNOWN_VERSION",
    );
  });

  it("deleting a missing path, list item or document-level path", () => {
    expect(
      code(() => patchConfig(BASE, ["machine:\n  nodeLabels:\n    a:\n      $patch: delete\n"])),
    ).toBe("CONFIG_DELETE_MISSING");
    expect(
      code(() =>
        patchConfig(BASE, [
          "cluster:\n  apiServer:\n    admissionControl:\n      - name: Nope\n        $patch: delete\n",
        ]),
      ),
    ).toBe("CONFIG_DELETE_MISSING");
    // a whole missing document is skipped silently
    expect(
      patchConfig(BASE, ["apiVersion: v1alpha1\nkind: LinkConfig\nname: eth9\n$patch: delete\n"])
        .documents,
    ).toHaveLength(1);
  });

  it("leaves the caller's base text untouched when a later patch fails", () => {
    const base = BASE;
    expect(
      code(() =>
        patchConfig(base, ["machine:\n  token: new\n", "machine:\n  x:\n    $patch: delete\n"]),
      ),
    ).toBe("CONFIG_DELETE_MISSING");
    expect(base).toBe(BASE);
  });

  it("JSON6902 on a multi-document config is refused with Talos's message", () => {
    const multi = `${BASE}---\napiVersion: v1alpha1\nkind: LinkConfig\nname: eth0\n`;
    const ops = '[{"op": "remove", "path": "/machine/token"}]';
    expect(code(() => patchConfig(multi, [ops]))).toBe("CONFIG_JSONPATCH_MULTIDOC");
    expect(() => patchConfig(multi, [ops])).toThrow(
      "JSON6902 patches are not supported for multi-document machine configuration",
    );
  });

  it("JSON6902 operations that do not apply", () => {
    for (const op of [
      { op: "remove", path: "/machine/nope" },
      { op: "replace", path: "/machine/certSANs/5", value: "x" },
      { op: "add", path: "/machine/type/x", value: 1 },
      { op: "test", path: "/machine/type", value: "controlplane" },
      { op: "add", path: "/machine/certSANs/x", value: 1 },
      { op: "move", from: "/machine", path: "/machine/inner" },
      { op: "replace", path: "", value: [1] },
    ]) {
      expect(
        code(() => patchConfig(BASE, [JSON.stringify([op])])),
        JSON.stringify(op),
      ).toBe("CONFIG_JSONPATCH_FAILED");
    }
  });

  it("malformed patches", () => {
    expect(code(() => loadPatch('[{"op": "explode", "path": "/a"}]'))).toBe("CONFIG_BAD_PATCH");
    expect(code(() => loadPatch("- a\n- b\n"))).toBe("CONFIG_BAD_PATCH");
    expect(code(() => loadPatch("machine: {}\n---\n- a\n"))).toBe("CONFIG_BAD_PATCH");
    expect(code(() => loadPatches(["@/no/such/file.yaml"]))).toBe("CONFIG_BAD_PATCH");
    expect(loadPatches(["machine: {}"], { readFile: () => "" })[0]?.type).toBe("strategic");
  });
});
