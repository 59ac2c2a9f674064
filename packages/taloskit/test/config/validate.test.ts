// Validation gives Talos's verdict without Go: every expectation here was checked once
// against the machinery oracles (conformance/oracles.ts), which run Talos's own loader
// and Validate; the conformance run compares the two at scale. Errors name the
// document, the path and the rule; deprecated fields come back as warnings.
import { describe, expect, it } from "vitest";
import { ConfigPatchError } from "../../src/config/errors.js";
import { assertValidConfig, validateConfig } from "../../src/config/validate.js";
import { CONFIG_VERSIONS, kindsOfVersion } from "../../src/config/versions.js";

/** A small worker config that Talos 1.10 to 1.14 accept as it is. */
const WORKER = `version: v1alpha1
machine:
  type: worker
  token: abc.def
  ca:
    crt: Y2VydA==
  install:
    disk: /dev/sda
cluster:
  controlPlane:
    endpoint: https://10.5.0.2:6443
  clusterName: lab
  network:
    dnsDomain: cluster.local
`;

/** WORKER with `yaml` (indented for `machine:`) added under machine. */
function withMachine(yaml: string): string {
  return WORKER.replace("  install:\n", `${yaml}  install:\n`);
}

function warningAt(text: string, v: string, path: string): string | undefined {
  const r = validateConfig(text, v);
  expect(r.issues).toEqual([]);
  expect(r.valid).toBe(true);
  return r.warnings.find((w) => w.path === path)?.message;
}

describe("validateConfig", () => {
  it("accepts a small complete config in every version", () => {
    expect(CONFIG_VERSIONS).toEqual(["1.10", "1.11", "1.12", "1.13", "1.14"]);
    for (const v of CONFIG_VERSIONS) expect(validateConfig(WORKER, v).issues).toEqual([]);
  });

  it("names document, path and rule", () => {
    const text =
      "version: v1alpha1\nmachine:\n  type: bogus\n  nope: 1\ncluster: null\n---\napiVersion: v1alpha1\nkind: LinkConfig\nname: eth0\nmtu: big\naddresses:\n  - address: 10.0.0.1/24\n    extra: 1\n---\napiVersion: v1alpha1\nkind: KernelModuleConfig\nname: nvidia\n";
    const r = validateConfig(text, "1.13");
    expect(r.valid).toBe(false);
    expect(r.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          document: "/v1alpha1",
          path: "machine.nope",
          rule: "additionalProperties",
        }),
        expect.objectContaining({
          document: "v1alpha1/LinkConfig/eth0",
          path: "mtu",
          rule: "type",
        }),
        expect.objectContaining({
          document: "v1alpha1/LinkConfig/eth0",
          path: "addresses.0.extra",
          rule: "additionalProperties",
        }),
        expect.objectContaining({
          document: "v1alpha1/KernelModuleConfig/nvidia",
          path: "kind",
          rule: "unknownKind",
        }),
      ]),
    );
    // Talos stops at decoding errors: the unknown machine type is not reached
    expect(r.issues.some((i) => i.path === "machine.type")).toBe(false);
    expect(validateConfig(WORKER.replace("type: worker", "type: bogus"), "1.13").issues).toEqual([
      expect.objectContaining({ path: "machine.type", rule: "enum" }),
    ]);
  });

  it("whole-config checks: machine, cluster, CA, and install before 1.14", () => {
    const fragment = "version: v1alpha1\nmachine:\n  type: worker\n";
    expect(validateConfig(fragment, "1.14").issues.map((i) => i.path)).toEqual([
      "cluster",
      "machine.ca",
    ]);
    expect(validateConfig(fragment, "1.10").issues.map((i) => i.path)).toEqual([
      "cluster",
      "machine.install",
      "machine.ca",
    ]);
    // without machine.install, 1.14 takes an UnattendedInstallConfig
    const unattended = `${WORKER.replace("  install:\n    disk: /dev/sda\n", "")}---\napiVersion: v1alpha1\nkind: UnattendedInstallConfig\nprovisioning:\n  diskSelector:\n    match: disk.dev_path == "/dev/sda"\n`;
    expect(validateConfig(unattended, "1.14").issues).toEqual([]);
  });

  it("assertValidConfig throws CONFIG_INVALID with the issues", () => {
    try {
      assertValidConfig("apiVersion: v1alpha1\nkind: LinkConfig\nmtu: 1500\n", "1.14");
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigPatchError);
      const e = err as ConfigPatchError;
      expect(e.code).toBe("CONFIG_INVALID");
      expect(e.issues[0]).toMatchObject({
        document: "v1alpha1/LinkConfig",
        path: "name",
        rule: "required",
      });
      expect(e.message).toContain("document 'v1alpha1/LinkConfig'");
    }
    expect(() => assertValidConfig(WORKER, "1.14")).not.toThrow();
    // `version` alone does not make a v1alpha1 document: Talos asks for a kind
    expect(() => assertValidConfig("version: v1alpha1\n", "1.14")).toThrow(/missing kind/);
  });

  it("rejects versions without a model and bad YAML", () => {
    expect(() => validateConfig(WORKER, "1.9")).toThrow(/no config model/);
    expect(() => validateConfig("a: [", "1.14")).toThrow(ConfigPatchError);
  });

  it("validates for 1.10 and 1.11 with their own models", () => {
    for (const v of ["1.10", "1.11"]) {
      expect(validateConfig(WORKER, v).valid).toBe(true);
      // ExistingVolumeConfig came in 1.11
      const uvc = `${WORKER}---\napiVersion: v1alpha1\nkind: ExistingVolumeConfig\nname: data\ndiscovery:\n  volumeSelector:\n    match: "true"\n`;
      const r = validateConfig(uvc, v);
      if (v === "1.10")
        expect(r.issues).toEqual([expect.objectContaining({ rule: "unknownKind" })]);
      else expect(r.issues).toEqual([]);
    }
  });
});

describe("deprecated fields Talos still reads", () => {
  const cases: [string, string, string, RegExp][] = [
    ["persist", `${WORKER}persist: true\n`, "persist", /deprecated/],
    [
      "machine.registries",
      withMachine(
        "  registries:\n    mirrors:\n      docker.io:\n        endpoints: [https://m.example]\n",
      ),
      "machine.registries",
      /RegistryAuthConfig.*RegistryMirrorConfig|RegistryMirrorConfig.*RegistryAuthConfig/,
    ],
    [
      "machine.network",
      withMachine("  network:\n    hostname: n1\n"),
      "machine.network.hostname",
      /HostnameConfig/,
    ],
    ["machine.install", WORKER, "machine.install", /UnattendedInstallConfig/],
    [
      "machine.install.extraKernelArgs",
      WORKER.replace("disk: /dev/sda\n", "disk: /dev/sda\n    extraKernelArgs: [console=ttyS0]\n"),
      "machine.install.extraKernelArgs",
      /deprecated/,
    ],
    [
      "machine.disks",
      withMachine(
        "  disks:\n    - device: /dev/sdb\n      partitions: [{mountpoint: /var/mnt/x}]\n",
      ),
      "machine.disks",
      /UserVolumeConfig/,
    ],
    [
      "machine.time",
      withMachine("  time:\n    servers: [time.example]\n"),
      "machine.time",
      /TimeSyncConfig/,
    ],
    [
      "machine.kubelet",
      withMachine("  kubelet:\n    image: ghcr.io/siderolabs/kubelet:v1.35.0\n"),
      "machine.kubelet",
      /KubeletConfig/,
    ],
    [
      "machine.kernel",
      withMachine("  kernel:\n    modules: [{name: br_netfilter}]\n"),
      "machine.kernel",
      /KernelModuleConfig/,
    ],
  ];
  for (const [name, text, path, replacement] of cases)
    it(`${name} is accepted on 1.14 with a warning`, () => {
      expect(warningAt(text, "1.14", path)).toMatch(replacement);
    });

  it("machine.features.rbac is accepted; Talos 1.14 does not mark it deprecated", () => {
    const text = withMachine("  features:\n    rbac: true\n");
    expect(warningAt(text, "1.14", "machine.features.rbac")).toBeUndefined();
  });

  it("a deprecated field beside the document that replaces it is a conflict", () => {
    const text = `${withMachine("  time:\n    servers: [time.example]\n")}---\napiVersion: v1alpha1\nkind: TimeSyncConfig\nntp:\n  servers: [time.example]\n`;
    expect(validateConfig(text, "1.14").issues).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: "machine.time", rule: "conflict" })]),
    );
  });
});

describe("YAML values as Talos's decoder reads them", () => {
  it("numbers and booleans in string fields", () => {
    const text = withMachine(
      "  sysctls:\n    net.core.bpf_jit_harden: 1\n    vm.swappiness: 130\n  kubelet:\n    extraArgs:\n      rotate-server-certificates: true\n",
    );
    for (const v of CONFIG_VERSIONS) expect(validateConfig(text, v).issues).toEqual([]);
  });

  it("on and off for booleans; a mapping for a bool is refused", () => {
    const text = withMachine(
      "  features:\n    diskQuotaSupport: on\n    apidCheckExtKeyUsage: off\n",
    );
    expect(validateConfig(text, "1.14").issues).toEqual([]);
    const bad = withMachine("  features:\n    diskQuotaSupport: {a: 1}\n");
    expect(validateConfig(bad, "1.14").issues).toEqual([
      expect.objectContaining({ path: "machine.features.diskQuotaSupport", rule: "type" }),
    ]);
  });

  it("a logging destination endpoint is a URL string", () => {
    const text = withMachine(
      "  logging:\n    destinations:\n      - endpoint: udp://127.0.0.1:5514/\n        format: json_lines\n",
    );
    expect(validateConfig(text, "1.14").issues).toEqual([]);
  });

  it("KubeSpan needs a link MTU of at least 1280 (a float is cut to its integer part on 1.12)", () => {
    const ks = (mtu: string) =>
      withMachine(`  network:\n    kubespan:\n      enabled: true\n      mtu: ${mtu}\n`);
    // (Talos 1.12 also asks for cluster discovery beside an enabled KubeSpan)
    expect(validateConfig(ks("1.5"), "1.12").issues).toEqual([
      expect.objectContaining({ path: "machine.network.kubespan.mtu", rule: "range" }),
      expect.objectContaining({ path: "cluster.discovery", rule: "required" }),
    ]);
    const doc = "apiVersion: v1alpha1\nkind: KubeSpanConfig\nmtu: 0\n";
    expect(validateConfig(doc, "1.14").issues).toEqual([
      expect.objectContaining({ document: "v1alpha1/KubeSpanConfig", path: "mtu", rule: "range" }),
    ]);
  });
});

describe("document kinds", () => {
  it("1.14 knows UnattendedInstallConfig and ImageVerificationConfig, not UnattendedInstall", () => {
    const kinds = kindsOfVersion("1.14").map((k) => k.kind);
    expect(kinds).toEqual(
      expect.arrayContaining(["UnattendedInstallConfig", "ImageVerificationConfig"]),
    );
    expect(kinds).not.toContain("UnattendedInstall");
    expect(
      validateConfig(`${WORKER}---\napiVersion: v1alpha1\nkind: ImageVerificationConfig\n`, "1.14")
        .issues,
    ).toEqual([]);
    expect(
      validateConfig(`${WORKER}---\napiVersion: v1alpha1\nkind: UnattendedInstall\n`, "1.14")
        .issues,
    ).toEqual([expect.objectContaining({ path: "kind", rule: "unknownKind" })]);
    expect(kindsOfVersion("1.13").map((k) => k.kind)).not.toContain("UnattendedInstallConfig");
  });

  it("a document-level $patch: delete is accepted in a patch", () => {
    const patch = "apiVersion: v1alpha1\nkind: SideroLinkConfig\n$patch: delete\n";
    expect(validateConfig(patch, "1.14", { partial: true }).issues).toEqual([]);
    expect(validateConfig(patch, "1.14").valid).toBe(false);
  });
});

describe("release-specific rules the conformance run found", () => {
  // What each release's loader answered for machine.time.bootTimeout (checked with the oracles)
  const duration = (value: string) => withMachine(`  time:\n    bootTimeout: ${value}\n`);
  const accepted = (value: string, v: string) => validateConfig(duration(value), v).valid;

  it("durations: text only up to 1.12, the integer 0 from 1.13, integral floats on 1.14", () => {
    for (const v of ["1.10", "1.11", "1.12"]) {
      expect(accepted("1s", v)).toBe(true);
      expect(accepted("0", v)).toBe(false);
      expect(accepted("2.0", v)).toBe(false);
    }
    expect(accepted("0", "1.13")).toBe(true);
    expect(accepted("0x0", "1.13")).toBe(true);
    expect(accepted("2.0", "1.13")).toBe(false);
    expect(accepted("2.0", "1.14")).toBe(true);
    expect(accepted("1e3", "1.14")).toBe(true);
    expect(accepted("2.5", "1.14")).toBe(false);
    expect(accepted("2", "1.14")).toBe(false);
  });

  it("KubeSpan needs cluster discovery up to 1.13", () => {
    const text = withMachine("  network:\n    kubespan:\n      enabled: true\n");
    for (const v of ["1.10", "1.12", "1.13"])
      expect(validateConfig(text, v).issues).toEqual(
        expect.arrayContaining([expect.objectContaining({ path: "cluster.discovery" })]),
      );
    const withDiscovery = text.replace("cluster:\n", "cluster:\n  discovery:\n    enabled: true\n");
    expect(
      validateConfig(withDiscovery, "1.12").issues.filter((i) => i.path === "cluster.discovery"),
    ).toEqual([]);
  });
});
