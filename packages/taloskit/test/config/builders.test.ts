// Builder output decodes as Talos's loader decodes it in every version it targets
// (validateDocuments with partial, the verdict of Talos's patch loader), takes the form
// that version accepts, and merges into a config that Talos accepts whole.
import { describe, expect, it } from "vitest";
import * as b from "../../src/config/builders.js";
import type { ConfigPatchError } from "../../src/config/errors.js";
import { patchConfig } from "../../src/config/patch.js";
import { validateConfig, validateDocuments } from "../../src/config/validate.js";
import { CONFIG_VERSIONS } from "../../src/config/versions.js";
import { fixture } from "./helpers.js";

function all(v: string): Record<string, b.PatchDocument[]> {
  return {
    install: b.installPatch(
      { disk: "/dev/nvme0n1", image: "factory.talos.dev/metal-installer/abc:v1.14.0", wipe: false },
      v,
    ),
    kubelet: b.kubeletPatch(
      {
        image: "ghcr.io/siderolabs/kubelet:v1.35.0",
        extraArgs: { "max-pods": "250" },
        extraConfig: { maxPods: 250 },
        clusterDNS: ["10.96.0.10"],
      },
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
    bond: b.bondPatch({ name: "bond0", links: ["eth2", "eth3"], mode: "802.3ad", miimon: 100 }, v),
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

/**
 * A complete controlplane config from Talos's patch cases: Talos refuses it only for
 * its missing install disk, which the install builder supplies.
 */
const BASE = fixture("patchdelete/controlplane_orig.yaml");

describe.each(CONFIG_VERSIONS)("builders for Talos %s", (v) => {
  for (const [name, docs] of Object.entries(all(v))) {
    it(`${name} decodes as Talos decodes a patch`, () => {
      const result = validateDocuments(docs, v, { partial: true });
      expect(result.issues).toEqual([]);
    });
  }

  it("the base config alone lacks only its install disk", () => {
    expect(validateConfig(BASE, v).issues.map((i) => i.path)).toEqual(["machine.install"]);
  });

  it("all builder patches merge into one config (1.14: Talos refuses documents beside the v1alpha1 fields they replace)", () => {
    const patches = Object.values(all(v)).map((docs) => b.builtPatch(docs));
    const out = patchConfig(BASE, patches, { talosVersion: v });
    const docs = out.documents.map((d) => d.id);
    expect(new Set(docs).size).toBe(docs.length);
    const issues = validateConfig(out.text, v).issues;
    if (v !== "1.14") {
      expect(issues).toEqual([]);
      return;
    }
    // the base keeps .machine.install and .machine.kubelet, which 1.14's
    // UnattendedInstallConfig and KubeletConfig documents replace
    expect(issues.filter((i) => i.rule === "conflict").map((i) => i.path)).toEqual(
      expect.arrayContaining(["machine.install", "machine.kubelet"]),
    );
  });
});

describe("version-aware forms", () => {
  it("kernel modules: machine.kernel.modules up to 1.13, KernelModuleConfig in 1.14", () => {
    expect(b.kernelModulesPatch([{ name: "nvidia" }], "1.13")).toEqual([
      { version: "v1alpha1", machine: { kernel: { modules: [{ name: "nvidia" }] } } },
    ]);
    expect(b.kernelModulesPatch([{ name: "nvidia" }], "v1.14.2")).toEqual([
      { apiVersion: "v1alpha1", kind: "KernelModuleConfig", name: "nvidia" },
    ]);
    // the typed form does not exist in 1.13
    expect(
      validateDocuments(b.kernelModulesPatch([{ name: "x" }], "1.14"), "1.13").issues[0]?.rule,
    ).toBe("unknownKind");
  });

  it("install: machine.install up to 1.13, UnattendedInstallConfig in 1.14", () => {
    expect(b.installPatch({ disk: "/dev/sda" }, "1.12")).toEqual([
      { version: "v1alpha1", machine: { install: { disk: "/dev/sda" } } },
    ]);
    expect(b.installPatch({ disk: "/dev/sda", image: "i" }, "1.14")).toEqual([
      {
        apiVersion: "v1alpha1",
        kind: "UnattendedInstallConfig",
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
  });

  it("kernel args are refused with advice, unknown versions are refused", () => {
    expect(() => b.kernelArgsPatch(["console=ttyS0"], "1.14")).toThrow(/extraKernelArgs/);
    try {
      b.sysctlsPatch({}, "1.9");
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigPatchError).code).toBe("CONFIG_UNKNOWN_VERSION");
    }
  });
});

describe("version-specific forms", () => {
  it("kubelet: machine.kubelet up to 1.13, a KubeletConfig document (config, not extraConfig) in 1.14", () => {
    const settings = { extraArgs: { "max-pods": "250" }, extraConfig: { maxPods: 250 } };
    expect(b.kubeletPatch(settings, "1.13")).toEqual([
      { version: "v1alpha1", machine: { kubelet: settings } },
    ]);
    expect(b.kubeletPatch(settings, "1.14")).toEqual([
      {
        apiVersion: "v1alpha1",
        kind: "KubeletConfig",
        extraArgs: { "max-pods": "250" },
        config: { maxPods: 250 },
      },
    ]);
  });

  it("sysctls and node metadata: machine fields up to 1.13, their documents in 1.14", () => {
    expect(b.sysctlsPatch({ "vm.swappiness": "1" }, "1.10")).toEqual([
      { version: "v1alpha1", machine: { sysctls: { "vm.swappiness": "1" } } },
    ]);
    expect(b.sysctlsPatch({ "vm.swappiness": "1" }, "1.14")).toEqual([
      { apiVersion: "v1alpha1", kind: "SysctlConfig", params: { "vm.swappiness": "1" } },
    ]);
    expect(b.nodeMetadataPatch({ labels: { a: "b" } }, "1.14")).toEqual([
      { apiVersion: "v1alpha1", kind: "KubeNodeConfig", labels: { a: "b" } },
    ]);
  });

  it("networks and registries: v1alpha1 fields before 1.12, typed documents from 1.12", () => {
    const route = { destination: "0.0.0.0/0", gateway: "10.0.0.1" };
    expect(b.linkPatch("eth0", { addresses: ["10.0.0.2/24"], routes: [route] }, "1.11")).toEqual([
      {
        version: "v1alpha1",
        machine: {
          network: {
            interfaces: [
              {
                interface: "eth0",
                addresses: ["10.0.0.2/24"],
                routes: [{ network: "0.0.0.0/0", gateway: "10.0.0.1" }],
              },
            ],
          },
        },
      },
    ]);
    // A default route carries no destination in a LinkConfig.
    expect(b.linkPatch("eth0", { routes: [route] }, "1.14")).toEqual([
      {
        apiVersion: "v1alpha1",
        kind: "LinkConfig",
        name: "eth0",
        routes: [{ gateway: "10.0.0.1" }],
      },
    ]);
    expect(b.vlanPatch({ parent: "eth0", vlanId: 7, mtu: 1500 }, "1.10")).toEqual([
      {
        version: "v1alpha1",
        machine: {
          network: { interfaces: [{ interface: "eth0", vlans: [{ vlanId: 7, mtu: 1500 }] }] },
        },
      },
    ]);
    expect(b.bondPatch({ name: "bond0", links: ["eth0"], mode: "active-backup" }, "1.11")).toEqual([
      {
        version: "v1alpha1",
        machine: {
          network: {
            interfaces: [
              { interface: "bond0", bond: { interfaces: ["eth0"], mode: "active-backup" } },
            ],
          },
        },
      },
    ]);
    expect(b.registryMirrorPatch("docker.io", ["https://m"], "1.11")).toEqual([
      {
        version: "v1alpha1",
        machine: { registries: { mirrors: { "docker.io": { endpoints: ["https://m"] } } } },
      },
    ]);
    expect(b.registryAuthPatch("ghcr.io", { username: "u" }, "1.10")).toEqual([
      {
        version: "v1alpha1",
        machine: { registries: { config: { "ghcr.io": { auth: { username: "u" } } } } },
      },
    ]);
    expect(b.registryMirrorPatch("docker.io", ["https://m"], "1.12")[0]?.kind).toBe(
      "RegistryMirrorConfig",
    );
  });

  it("several builders make one patch with each document once", () => {
    const docs = [
      ...b.kernelModulesPatch([{ name: "zfs" }], "1.13"),
      ...b.sysctlsPatch({ "vm.swappiness": "1" }, "1.13"),
      ...b.gpuRuntimePatch("nvidia", "1.13"),
    ];
    expect(b.mergePatchDocuments(docs)).toEqual([
      {
        version: "v1alpha1",
        machine: {
          kernel: {
            modules: ["zfs", "nvidia", "nvidia_uvm", "nvidia_drm", "nvidia_modeset"].map(
              (name) => ({
                name,
              }),
            ),
          },
          sysctls: { "vm.swappiness": "1", "net.core.bpf_jit_harden": "1" },
        },
      },
    ]);
    expect(b.gpuRuntimePatch("nvidia", "1.12")).toHaveLength(1);
    const patch = b.builtPatch([
      ...b.sysctlsPatch({ a: "1" }, "1.14"),
      ...b.sysctlsPatch({ b: "2" }, "1.14"),
    ]);
    expect(patch.type === "strategic" && patch.documents.map((d) => d.toJS())).toEqual([
      { apiVersion: "v1alpha1", kind: "SysctlConfig", params: { a: "1", b: "2" } },
    ]);
  });

  it("a v1alpha1 patch takes the 1.14 form: moved fields become documents, the rest is named", () => {
    const patch = {
      machine: {
        kernel: { modules: [{ name: "zfs" }] },
        sysctls: { "vm.swappiness": "1" },
        kubelet: {
          extraArgs: { "max-pods": "250" },
          extraMounts: [{ destination: "/var/lib/longhorn", source: "/var/lib/longhorn" }],
        },
        nodeTaints: { gpu: "true:NoSchedule" },
        install: { disk: "/dev/sda" },
        files: [{ path: "/var/x", content: "x", op: "create" }],
        certSANs: ["a.example"],
      },
      cluster: { allowSchedulingOnControlPlanes: true },
    };
    expect(b.machinePatchDocuments(patch, "1.13")).toEqual({
      documents: [{ version: "v1alpha1", ...patch }],
      leftOut: [],
    });
    const lifted = b.machinePatchDocuments(patch, "1.14");
    expect(lifted.documents).toEqual([
      {
        version: "v1alpha1",
        machine: { certSANs: ["a.example"] },
        cluster: { allowSchedulingOnControlPlanes: true },
      },
      { apiVersion: "v1alpha1", kind: "KernelModuleConfig", name: "zfs" },
      { apiVersion: "v1alpha1", kind: "SysctlConfig", params: { "vm.swappiness": "1" } },
      { apiVersion: "v1alpha1", kind: "KubeletConfig", extraArgs: { "max-pods": "250" } },
      { apiVersion: "v1alpha1", kind: "KubeNodeConfig", taints: { gpu: "true:NoSchedule" } },
      {
        apiVersion: "v1alpha1",
        kind: "UnattendedInstallConfig",
        provisioning: { diskSelector: { match: 'disk.dev_path == "/dev/sda"' } },
      },
    ]);
    expect(lifted.leftOut).toEqual(["machine.kubelet.extraMounts", "machine.files"]);
  });
});
