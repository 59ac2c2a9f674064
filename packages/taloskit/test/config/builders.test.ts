// Builder output validates against the schema of every version it targets, takes the
// form that version accepts, and merges into a config.
import { describe, expect, it } from "vitest";
import * as b from "../../src/config/builders.js";
import type { ConfigPatchError } from "../../src/config/errors.js";
import { ZodV1_12, ZodV1_13, ZodV1_14 } from "../../src/config/generated/index.js";
import { patchConfig } from "../../src/config/patch.js";
import { validateConfig, validateDocuments } from "../../src/config/validate.js";
import { CONFIG_VERSIONS } from "../../src/config/versions.js";

const ZOD = { "1.12": ZodV1_12, "1.13": ZodV1_13, "1.14": ZodV1_14 } as const;

function all(v: string): Record<string, b.PatchDocument[]> {
  return {
    install: b.installPatch(
      { disk: "/dev/nvme0n1", image: "factory.talos.dev/metal-installer/abc:v1.14.0", wipe: false },
      v,
    ),
    kernelModules: b.kernelModulesPatch(
      [{ name: "nvidia", parameters: ["NVreg_OpenRmEnableUnsupportedGpus=1"] }],
      v,
    ),
    sysctls: b.sysctlsPatch({ "vm.nr_hugepages": "1024" }, v),
    nodeMeta: b.nodeMetadataPatch(
      {
        labels: { "gpu.vendor": "nvidia" },
        annotations: { owner: "ops" },
        taints: { gpu: "true:NoSchedule" },
      },
      v,
    ),
    link: b.linkPatch(
      "eth0",
      { addresses: ["10.0.0.2/24"], routes: [{ gateway: "10.0.0.1" }], mtu: 9000 },
      v,
    ),
    vlan: b.vlanPatch({ parent: "eth0", vlanId: 100, addresses: ["10.1.0.2/24"] }, v),
    bond: b.bondPatch({ name: "bond0", links: ["eth0", "eth1"], mode: "802.3ad", miimon: 100 }, v),
    mirror: b.registryMirrorPatch("docker.io", ["https://mirror.example"], v, {
      skipFallback: true,
    }),
    auth: b.registryAuthPatch("ghcr.io", { username: "u", password: "p" }, v),
    extension: b.extensionServicePatch(
      "nut-client",
      { configFiles: [{ content: "x", mountPath: "/etc/nut/upsmon.conf" }], environment: ["A=B"] },
      v,
    ),
    volume: b.userVolumePatch(
      "data",
      { diskSelector: "disk.size > 100u * GB", minSize: "10GiB", filesystem: "xfs" },
      v,
    ),
    certSANs: b.certSANsPatch(["api.example"], v, {
      apiServer: true,
      apiServerImage: "registry.k8s.io/kube-apiserver:v1.35.0",
    }),
    endpoint: b.clusterEndpointPatch("https://api.example:6443", v, { clusterName: "lab" }),
    nvidia: b.gpuRuntimePatch("nvidia", v),
    amd: b.gpuRuntimePatch("amd", v),
  };
}

describe.each(CONFIG_VERSIONS.filter((v): v is keyof typeof ZOD => v in ZOD))(
  "builders for Talos %s",
  (v) => {
    for (const [name, docs] of Object.entries(all(v))) {
      it(`${name} validates (ajv and zod)`, () => {
        const result = validateDocuments(docs, v);
        expect(result.issues).toEqual([]);
        for (const doc of docs) {
          const kind = (doc.kind ?? "v1alpha1") as keyof (typeof ZOD)["1.14"]["documentSchemas"];
          const schema = (
            ZOD[v].documentSchemas as Record<
              string,
              { safeParse(x: unknown): { success: boolean } }
            >
          )[kind];
          expect(schema?.safeParse(doc).success, `${name} ${String(kind)}`).toBe(true);
        }
      });
    }

    it("all builder patches merge into one config that validates", () => {
      const patches = Object.values(all(v)).map((docs) => b.builtPatch(docs));
      const out = patchConfig("", patches, { talosVersion: v });
      const docs = out.documents.map((d) => d.id);
      expect(new Set(docs).size).toBe(docs.length);
      expect(validateConfig(out.text, v).issues).toEqual([]);
    });
  },
);

describe("version-aware forms", () => {
  it("kernel modules: machine.kernel.modules up to 1.13, KernelModuleConfig in 1.14", () => {
    expect(b.kernelModulesPatch([{ name: "nvidia" }], "1.13")).toEqual([
      { version: "v1alpha1", machine: { kernel: { modules: [{ name: "nvidia" }] } } },
    ]);
    expect(b.kernelModulesPatch([{ name: "nvidia" }], "v1.14.2")).toEqual([
      { apiVersion: "v1alpha1", kind: "KernelModuleConfig", name: "nvidia" },
    ]);
    // the legacy form does not validate for 1.14, the typed one does not exist in 1.13
    expect(validateDocuments(b.kernelModulesPatch([{ name: "x" }], "1.13"), "1.14").valid).toBe(
      false,
    );
    expect(
      validateDocuments(b.kernelModulesPatch([{ name: "x" }], "1.14"), "1.13").issues[0]?.rule,
    ).toBe("unknownKind");
  });

  it("install: machine.install up to 1.13, UnattendedInstall in 1.14", () => {
    expect(b.installPatch({ disk: "/dev/sda" }, "1.12")).toEqual([
      { version: "v1alpha1", machine: { install: { disk: "/dev/sda" } } },
    ]);
    expect(b.installPatch({ disk: "/dev/sda", image: "i" }, "1.14")).toEqual([
      {
        apiVersion: "v1alpha1",
        kind: "UnattendedInstall",
        installer: { image: "i" },
        provisioning: { diskSelector: { match: 'disk.dev_path == "/dev/sda"' } },
      },
    ]);
  });

  it("1.14 documents without their required fields are valid patches, not complete documents", () => {
    const partial = [
      ...b.clusterEndpointPatch("https://api.example:6443", "1.14"),
      ...b.certSANsPatch(["x"], "1.14", { apiServer: true }),
    ];
    expect(validateDocuments(partial, "1.14", { partial: true }).issues).toEqual([]);
    expect(validateDocuments(partial, "1.14").issues.map((i) => i.rule)).toEqual([
      "required",
      "required",
    ]);
    // identity is still required in a patch
    expect(
      validateDocuments([{ apiVersion: "v1alpha1", kind: "LinkConfig" }], "1.14", { partial: true })
        .issues,
    ).toMatchObject([{ rule: "required", document: "v1alpha1/LinkConfig" }]);
  });

  it("kernel args are refused with advice, unknown versions are refused", () => {
    expect(() => b.kernelArgsPatch(["console=ttyS0"], "1.14")).toThrow(/extraKernelArgs/);
    try {
      b.sysctlsPatch({}, "1.11");
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigPatchError).code).toBe("CONFIG_UNKNOWN_VERSION");
    }
  });
});
