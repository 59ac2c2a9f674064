// The parts of a plan beyond the schematic: catalog checks with legacy names
// replaced, the installer image, boot media, and config patch documents in
// the form of the target version, validated against that version's schema.
import { readFileSync } from "node:fs";
import { offlineCatalog } from "@taloskit/factory";
import { describe, expect, it } from "vitest";
import { validateDocuments } from "../../src/config/validate.js";
import { inventoryFromJson } from "../../src/hardware/inventory.js";
import { planHardware, type ResolveOptions } from "../../src/hardware/resolve.js";
import { inventoryFromLspci } from "../../src/hardware/sources/lspci.js";

const fixture = (name: string) =>
  inventoryFromLspci(
    readFileSync(new URL(`../fixtures/lspci/${name}.txt`, import.meta.url), "utf8"),
    name,
  );
const plan = (name: string, options: Partial<ResolveOptions> = {}) =>
  planHardware(fixture(name), { talosVersion: "v1.14.0", ...options });

describe("installer image and boot media", () => {
  it("metal: the platform installer, ISO, raw.zst disk image and PXE of the public factory", () => {
    const p = plan("hgx-h100");
    expect(p.installer).toBe(`factory.talos.dev/metal-installer/${p.id}:v1.14.0`);
    expect(p.assets).toEqual({
      iso: `https://factory.talos.dev/image/${p.id}/v1.14.0/metal-amd64.iso`,
      diskImage: `https://factory.talos.dev/image/${p.id}/v1.14.0/metal-amd64.raw.zst`,
      pxe: `https://pxe.factory.talos.dev/pxe/${p.id}/v1.14.0/metal-amd64`,
    });
  });

  it("SecureBoot and a self-hosted factory change every reference", () => {
    const p = plan("intel-nuc", { secureBoot: true, factory: "https://factory.example.com/" });
    expect(p.installer).toBe(`factory.example.com/metal-installer-secureboot/${p.id}:v1.14.0`);
    expect(p.assets.iso).toBe(
      `https://factory.example.com/image/${p.id}/v1.14.0/metal-amd64-secureboot.iso`,
    );
    expect(p.assets.pxe).toBe(
      `https://factory.example.com/pxe/${p.id}/v1.14.0/metal-amd64-secureboot`,
    );
  });

  it("an SBC overlay boots from the arm64 raw disk image only", () => {
    const p = plan("raspberry-pi-5");
    expect(p.installer).toBe(`factory.talos.dev/metal-installer/${p.id}:v1.14.0`);
    expect(p.assets).toEqual({
      diskImage: `https://factory.talos.dev/image/${p.id}/v1.14.0/metal-arm64.raw.zst`,
    });
  });

  it("cloud and hypervisor platforms get their own images; Talos before 1.10 the legacy installer", () => {
    const aws = plan("aws-instance");
    expect(aws.installer).toBe(`factory.talos.dev/aws-installer/${aws.id}:v1.14.0`);
    expect(aws.assets).toEqual({
      diskImage: `https://factory.talos.dev/image/${aws.id}/v1.14.0/aws-amd64.raw.xz`,
    });
    const vmware = plan("vmware-vm");
    expect(vmware.assets.diskImage).toMatch(/\/vmware-amd64\.ova$/);
    const old = plan("proxmox-vm", { talosVersion: "v1.9.5" });
    expect(old.installer).toBe(`factory.talos.dev/installer/${old.id}:v1.9.5`);
  });
});

describe("catalog checks", () => {
  it("replaces legacy extension names with the ones the target version has, and says so", () => {
    const p = plan("proxmox-vm", {
      extraExtensions: ["siderolabs/nvidia-container-toolkit", "i915-ucode", "no-such-thing"],
    });
    expect(p.schematic.customization.systemExtensions?.officialExtensions).toEqual([
      "siderolabs/i915",
      "siderolabs/nvidia-container-toolkit-lts",
      "siderolabs/qemu-guest-agent",
    ]);
    expect(p.warnings).toEqual(
      expect.arrayContaining([
        "extra extension: extension nvidia-container-toolkit was replaced by nvidia-container-toolkit-lts in Talos 1.8: using nvidia-container-toolkit-lts",
        "extra extension: extension i915-ucode was replaced by i915 in Talos 1.9: using i915",
        "extra extension: extension no-such-thing does not exist for Talos v1.14.0",
      ]),
    );
  });

  it("drops an overlay the target version's catalog lacks", () => {
    const board = inventoryFromJson({
      cpu: { arch: "arm64" },
      board: { model: "Radxa ROCK 5T" },
    });
    expect(planHardware(board, { talosVersion: "v1.14.0" }).schematic.overlay?.name).toBe("rock5t");
    const old = planHardware(board, { talosVersion: "v1.11.2" });
    expect(old.schematic.overlay).toBeUndefined();
    expect(old.warnings).toContain(
      "overlay rock5t is not in the catalog of Talos v1.11.2: the schematic has no overlay",
    );
  });

  it("uses a catalog it is given, and says when it has none for the version", () => {
    const catalog = offlineCatalog("v1.14.0");
    catalog.extensions = catalog.extensions.filter(
      (e) => e.name !== "siderolabs/nvidia-fabricmanager-lts",
    );
    expect(plan("hgx-h100", { catalog }).warnings).toContain(
      "nvidia-nvswitch: extension nvidia-fabricmanager-lts does not exist for Talos v1.14.0",
    );
    expect(plan("proxmox-vm", { talosVersion: "v1.15.0" }).warnings).toContain(
      "taloskit has no catalog of Talos v1.15.0: extension and overlay names were not checked",
    );
  });
});

describe("config patches in the target version's form", () => {
  const options = { intents: ["longhorn", "drbd", "mayastor"] };

  it("Talos 1.14: KernelModuleConfig and SysctlConfig documents; no kubelet mount, which 1.14 lacks", () => {
    const p = plan("hgx-h100", options);
    expect(p.patches).toEqual([
      { apiVersion: "v1alpha1", kind: "KernelModuleConfig", name: "nvidia" },
      { apiVersion: "v1alpha1", kind: "KernelModuleConfig", name: "nvidia_uvm" },
      { apiVersion: "v1alpha1", kind: "KernelModuleConfig", name: "nvidia_drm" },
      { apiVersion: "v1alpha1", kind: "KernelModuleConfig", name: "nvidia_modeset" },
      {
        apiVersion: "v1alpha1",
        kind: "KernelModuleConfig",
        name: "drbd",
        parameters: ["usermode_helper=disabled"],
      },
      { apiVersion: "v1alpha1", kind: "KernelModuleConfig", name: "drbd_transport_tcp" },
      { apiVersion: "v1alpha1", kind: "KernelModuleConfig", name: "nvme_tcp" },
      {
        apiVersion: "v1alpha1",
        kind: "SysctlConfig",
        params: { "net.core.bpf_jit_harden": "1", "vm.nr_hugepages": "1024" },
      },
    ]);
    expect(p.warnings).toContain(
      "intent-longhorn: Talos v1.14.0 has no place for machine.kubelet.extraMounts of its config patch; left out",
    );
  });

  it("Talos 1.13 and older: machine.kernel.modules and machine.sysctls in the v1alpha1 document", () => {
    const p = plan("hgx-h100", { ...options, talosVersion: "v1.13.2" });
    expect(p.patches).toHaveLength(1);
    const machine = p.patches[0]?.machine as Record<string, unknown>;
    expect(p.patches[0]?.version).toBe("v1alpha1");
    expect((machine.kernel as { modules: { name: string }[] }).modules.map((m) => m.name)).toEqual([
      "nvidia",
      "nvidia_uvm",
      "nvidia_drm",
      "nvidia_modeset",
      "drbd",
      "drbd_transport_tcp",
      "nvme_tcp",
    ]);
    expect(machine.sysctls).toEqual({ "net.core.bpf_jit_harden": "1", "vm.nr_hugepages": "1024" });
    expect(machine.kubelet).toEqual({
      extraMounts: [
        {
          destination: "/var/lib/longhorn",
          type: "bind",
          source: "/var/lib/longhorn",
          options: ["bind", "rshared", "rw"],
        },
      ],
    });
  });

  it.each(["v1.12.6", "v1.13.2", "v1.14.0"])(
    "the patches validate against the Talos %s config schema, and not against the other form",
    (version) => {
      const p = plan("hgx-h100", { ...options, talosVersion: version });
      expect(validateDocuments(p.patches, version, { partial: true }).issues).toEqual([]);
      if (version === "v1.14.0") {
        // The 1.14 documents do not exist in 1.13.
        expect(validateDocuments(p.patches, "v1.13.0", { partial: true }).valid).toBe(false);
      } else {
        // Before 1.14, everything goes into the v1alpha1 document.
        expect(p.patches.map((d) => d.kind)).toEqual([undefined]);
      }
    },
  );

  it("Talos 1.14: a rule's v1alpha1 patch of moved fields becomes their documents", () => {
    const rules = [
      {
        id: "my-rule",
        summary: "kubelet and node settings for every machine",
        when: { intent: "mine" },
        kernelModules: [{ name: "zfs" }],
        machinePatches: [
          {
            machine: {
              kernel: { modules: [{ name: "zfs" }, { name: "nbd" }] },
              sysctls: { "fs.inotify.max_user_watches": "1048576" },
              kubelet: { extraArgs: { "max-pods": "250" } },
              nodeLabels: { storage: "zfs" },
              certSANs: ["node.example"],
            },
          },
        ],
      },
    ];
    const p = plan("proxmox-vm", { intents: ["mine"], rules });
    expect(p.patches).toEqual([
      { version: "v1alpha1", machine: { certSANs: ["node.example"] } },
      { apiVersion: "v1alpha1", kind: "KernelModuleConfig", name: "zfs" },
      { apiVersion: "v1alpha1", kind: "KernelModuleConfig", name: "nbd" },
      {
        apiVersion: "v1alpha1",
        kind: "SysctlConfig",
        params: { "fs.inotify.max_user_watches": "1048576" },
      },
      { apiVersion: "v1alpha1", kind: "KubeletConfig", extraArgs: { "max-pods": "250" } },
      { apiVersion: "v1alpha1", kind: "KubeNodeConfig", labels: { storage: "zfs" } },
    ]);
    expect(p.warnings.filter((w) => w.startsWith("my-rule"))).toEqual([]);
  });

  it("a machine that needs nothing gets no patches", () => {
    expect(plan("proxmox-vm").patches).toEqual([]);
  });
});

describe("arch", () => {
  it("leaves out extensions with no content for the target arch", () => {
    const p = plan("radeon-workstation", { arch: "arm64" });
    expect(p.schematic.customization.systemExtensions).toBeUndefined();
    expect(p.warnings).toEqual(
      expect.arrayContaining([
        "the machine is amd64 but the target arch is arm64",
        "amdgpu has content for amd64 only: left out of the arm64 schematic",
        "amd-ucode has content for amd64 only: left out of the arm64 schematic",
      ]),
    );
    expect(p.assets.iso).toMatch(/metal-arm64\.iso$/);
  });
});
