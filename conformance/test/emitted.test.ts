// Everything taloskit emits as machine-config patches, judged by Talos's own
// machinery of each version: the oracle applies the patch to a config that
// version generates (controlplane and worker) and validates the result as a
// node would. Sources: the config builders, hardware resolution over every
// inventory we have (our lspci fixtures, the real-world lspci captures, the
// simulator's hardware profiles, the homelabs' machines) with every intent alone
// and together, and patchMachineConfig against a simulated node.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { TalosClient } from "@taloskit/client";
import { hardwareProfiles, startCluster } from "@taloskit/testing";
import * as b from "taloskit";
import {
  CONFIG_VERSIONS,
  defaultRules,
  inventoryFromLspci,
  loadPatch,
  type MachineInventory,
  MachineInventorySchema,
  patchMachineConfig,
  planHardware,
  type RuleCondition,
} from "taloskit";
import { afterAll, describe, expect, it } from "vitest";
import { closeOracles, machinery, ORACLE_VERSIONS, type OracleVersion } from "../oracles.js";

afterAll(closeOracles);

const ROOT = new URL("../..", import.meta.url).pathname;
const SHARED = join(ROOT, "..", "shared");
const ROLES = ["controlplane", "worker"] as const;

/** The versions the builders claim (the config schemas taloskit carries) that have an oracle. */
const BUILDER_VERSIONS = ORACLE_VERSIONS.filter((v) =>
  (CONFIG_VERSIONS as readonly string[]).includes(v),
);

const generated = new Map<string, Promise<string>>();
function base(v: OracleVersion, role: (typeof ROLES)[number]): Promise<string> {
  const key = `${v}/${role}`;
  let p = generated.get(key);
  if (!p) {
    p = machinery(v)
      .generate(role)
      .then((r) => {
        if (!r.ok || !r.config) throw new Error(`generate ${key}: ${r.error}`);
        return r.config;
      });
    generated.set(key, p);
  }
  return p;
}

/** Patch documents as one YAML stream, as a user would save them. */
function yamlOf(docs: readonly b.PatchDocument[]): string {
  const patch = b.builtPatch(docs);
  if (patch.type !== "strategic") throw new Error("builder output is a strategic patch");
  return patch.documents.map((d) => d.toString({ lineWidth: 0 })).join("---\n");
}

/**
 * Applies every patch to both generated configs of the version and validates the
 * results; returns one line per rejection (the patch, who emitted it, and Talos's error).
 */
async function judge(
  v: OracleVersion,
  patches: Map<string, string[]>,
  roles: readonly (typeof ROLES)[number][] = ROLES,
): Promise<{ failures: string[]; checked: number }> {
  const m = machinery(v);
  const failures: string[] = [];
  const runs: Promise<void>[] = [];
  for (const [text, origins] of patches) {
    for (const role of roles) {
      runs.push(
        (async () => {
          const patched = await m.patch(await base(v, role), [text]);
          const verdict = patched.ok ? await m.validate(patched.config ?? "") : patched;
          if (!verdict.ok) {
            failures.push(
              `Talos ${v} ${role} rejects (${verdict.stage}) the patch of ${origins.slice(0, 3).join(", ")}${origins.length > 3 ? ` and ${origins.length - 3} more` : ""}:\n${text}\n=> ${verdict.error}`,
            );
          }
        })(),
      );
    }
  }
  await Promise.all(runs);
  return { failures, checked: patches.size };
}

function add(patches: Map<string, string[]>, docs: readonly b.PatchDocument[], origin: string) {
  if (!docs.length) return;
  const text = yamlOf(docs);
  const origins = patches.get(text) ?? [];
  origins.push(origin);
  patches.set(text, origins);
}

const counts: Record<string, number> = {};
afterAll(() => {
  console.log(`patches checked: ${JSON.stringify(counts)}`);
});

// ---------------------------------------------------------------------------
// The config builders, with realistic arguments.

function builderOutputs(v: string): Record<string, b.PatchDocument[]> {
  return {
    install: b.installPatch(
      {
        disk: "/dev/nvme0n1",
        image: `factory.talos.dev/metal-installer/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba:v${v}.0`,
        wipe: false,
      },
      v,
    ),
    installDiskOnly: b.installPatch({ disk: "/dev/sda" }, v),
    kernelModules: b.kernelModulesPatch(
      [{ name: "drbd", parameters: ["usermode_helper=disabled"] }, { name: "drbd_transport_tcp" }],
      v,
    ),
    sysctls: b.sysctlsPatch({ "vm.nr_hugepages": "1024", "net.core.somaxconn": "65535" }, v),
    kubelet: b.kubeletPatch(
      {
        extraArgs: { "rotate-server-certificates": "true" },
        extraConfig: { maxPods: 250 },
        clusterDNS: ["10.96.0.10"],
      },
      v,
    ),
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
      {
        addresses: ["10.0.0.2/24"],
        routes: [{ destination: "0.0.0.0/0", gateway: "10.0.0.1" }],
        mtu: 9000,
      },
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
      {
        configFiles: [
          {
            content: "MONITOR ups@nas 1 upsmon pw secondary",
            mountPath: "/usr/local/etc/nut/upsmon.conf",
          },
        ],
        environment: ["UPS_NAME=ups"],
      },
      v,
    ),
    volume: b.userVolumePatch(
      "data",
      { diskSelector: "disk.size > 100u * GB", minSize: "10GiB", filesystem: "xfs" },
      v,
    ),
    certSANs: b.certSANsPatch(["api.example"], v),
    certSANsApiServer: b.certSANsPatch(["api.example"], v, {
      apiServer: true,
      apiServerImage: "registry.k8s.io/kube-apiserver:v1.35.0",
    }),
    endpoint: b.clusterEndpointPatch("https://api.example:6443", v, { clusterName: "lab" }),
    nvidia: b.gpuRuntimePatch("nvidia", v),
    amd: b.gpuRuntimePatch("amd", v),
  };
}

describe("config builders", () => {
  it.each(BUILDER_VERSIONS)("every builder's patch is accepted by Talos %s", async (v) => {
    const outputs = builderOutputs(v);
    // The API server's SANs are a control-plane setting (1.14 refuses its document on workers).
    const controlPlaneOnly = new Set(["certSANsApiServer"]);
    const everywhere = new Map<string, string[]>();
    const controlPlane = new Map<string, string[]>();
    for (const [name, docs] of Object.entries(outputs))
      add(controlPlaneOnly.has(name) ? controlPlane : everywhere, docs, name);
    // All of them at once, as one patch.
    add(controlPlane, Object.values(outputs).flat(), "all builders");
    add(
      everywhere,
      Object.entries(outputs).flatMap(([name, docs]) => (controlPlaneOnly.has(name) ? [] : docs)),
      "all builders for any node",
    );
    const all = await judge(v, everywhere);
    const cp = await judge(v, controlPlane, ["controlplane"]);
    const failures = [...all.failures, ...cp.failures];
    counts[`builders ${v}`] = all.checked + cp.checked;
    expect(all.checked + cp.checked).toBeGreaterThanOrEqual(Object.keys(outputs).length);
    expect(failures, failures.join("\n\n")).toEqual([]);
  });
});

// ---------------------------------------------------------------------------
// Hardware resolution over every inventory we have.

/** Every lspci capture of a directory as an inventory, plain `lspci` (names only) included. */
function lspciDir(dir: string, label: string): [string, MachineInventory][] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".txt"))
    .sort()
    .map((f) => [`${label}/${f}`, inventoryFromLspci(readFileSync(join(dir, f), "utf8"), f)]);
}

/** A simulator hardware profile as an inventory (the facts a live node would report). */
function fromProfile(name: string): MachineInventory {
  const p = hardwareProfiles[name as keyof typeof hardwareProfiles];
  const vendor = /intel/i.test(p.cpu.vendorId)
    ? "intel"
    : /amd/i.test(p.cpu.vendorId)
      ? "amd"
      : p.arch === "arm64"
        ? "arm"
        : undefined;
  return MachineInventorySchema.parse({
    source: `profile ${name}`,
    name,
    cpu: { vendor, arch: p.arch, model: p.cpu.modelName },
    system: { manufacturer: p.system.manufacturer, productName: p.system.productName },
    board: p.boardModel ? { model: p.boardModel, compatible: p.boardCompatible ?? [] } : undefined,
    // The memory modules' sum, as a live node reports it (sizes APU GPU memory).
    memoryMiB: p.memoryModules.reduce((sum, m) => sum + m.sizeMiB, 0) || undefined,
    pciDevices: p.pciDevices.map((d) => ({
      slot: d.id,
      classId: d.classId,
      subclassId: d.subclassId,
      vendorId: d.vendorId,
      productId: d.productId,
      className: d.class,
      vendor: d.vendor,
      product: d.product,
      driver: d.driver || undefined,
    })),
  });
}

/**
 * The homelabs' machines, from what their schematics say they run: each
 * extension or overlay stands for the hardware that needs it.
 */
const HOMELAB_HARDWARE: Record<
  string,
  Partial<MachineInventory> & { devices?: [string, string, string][] }
> = {
  "nvidia-open-gpu-kernel-modules": { devices: [["0x03", "0x10de", "0x2204"]] },
  "nonfree-kmod-nvidia": { devices: [["0x03", "0x10de", "0x1b80"]] },
  "amd-ucode": { cpu: { vendor: "amd", arch: "amd64" } },
  "intel-ucode": { cpu: { vendor: "intel", arch: "amd64" } },
  i915: { devices: [["0x03", "0x8086", "0x4680"]] },
  amdgpu: { devices: [["0x03", "0x1002", "0x744c"]] },
  "realtek-firmware": { devices: [["0x02", "0x10ec", "0x8125"]] },
  "qemu-guest-agent": {
    system: { manufacturer: "QEMU", productName: "Standard PC (Q35 + ICH9, 2009)" },
    devices: [["0x02", "0x1af4", "0x1041"]],
  },
};

function homelabMachines(): [string, MachineInventory][] {
  const dir = join(SHARED, "homelabs");
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(e.name)) files.push(p);
    }
  };
  walk(dir);
  const out: [string, MachineInventory][] = [];
  for (const file of files.sort()) {
    const text = readFileSync(file, "utf8");
    if (!/officialExtensions|overlay:/.test(text) || !/customization:|overlay:/.test(text))
      continue;
    const doc = loadPatch(text, file);
    const schematic =
      doc.type === "strategic" ? (doc.documents[0]?.toJS() as Record<string, unknown>) : {};
    const custom = (schematic.customization ?? {}) as {
      systemExtensions?: { officialExtensions?: string[] };
    };
    const extensions = (custom.systemExtensions?.officialExtensions ?? []).map((e) =>
      e.replace(/^siderolabs\//, ""),
    );
    const overlay = (schematic.overlay as { name?: string } | undefined)?.name;
    if (!extensions.length && !overlay) continue;
    const name = file.slice(dir.length + 1);
    const arm = overlay !== undefined || /altra/.test(name);
    const inv: Record<string, unknown> & { pciDevices: unknown[] } = {
      source: `homelab ${name}`,
      name,
      cpu: arm ? { vendor: "arm", arch: "arm64" } : { arch: "amd64" },
      system: {},
      pciDevices: [],
    };
    if (overlay)
      inv.board = {
        model: overlay === "rpi_5" ? "Raspberry Pi 5 Model B" : "Raspberry Pi 4 Model B",
      };
    for (const e of extensions) {
      const key = Object.keys(HOMELAB_HARDWARE).find((k) => e.startsWith(k));
      const hw = key ? HOMELAB_HARDWARE[key] : undefined;
      if (!hw) continue;
      if (hw.cpu && !arm) inv.cpu = hw.cpu;
      if (hw.system) inv.system = hw.system;
      for (const [classId, vendorId, productId] of hw.devices ?? [])
        inv.pciDevices.push({ classId, subclassId: "0x00", vendorId, productId });
    }
    out.push([`homelabs/${name}`, MachineInventorySchema.parse(inv)]);
  }
  return out;
}

function inventories(): [string, MachineInventory][] {
  return [
    ...lspciDir(join(ROOT, "packages/taloskit/test/fixtures/lspci"), "fixtures"),
    ...lspciDir(join(SHARED, "realworld/lspci"), "realworld"),
    ...Object.keys(hardwareProfiles)
      .sort()
      .map((n): [string, MachineInventory] => [`profile/${n}`, fromProfile(n)]),
    ...homelabMachines(),
  ];
}

function intentsIn(c: RuleCondition): string[] {
  if ("intent" in c) return [c.intent];
  if ("all" in c) return c.all.flatMap(intentsIn);
  if ("any" in c) return c.any.flatMap(intentsIn);
  if ("not" in c) return intentsIn(c.not);
  return [];
}
const INTENTS = [...new Set(defaultRules.flatMap((r) => intentsIn(r.when)))].sort();

describe("hardware resolution", () => {
  const machines = inventories();

  it("has every kind of inventory", () => {
    for (const label of ["fixtures/", "realworld/", "profile/", "homelabs/"])
      expect(machines.filter(([n]) => n.startsWith(label)).length, label).toBeGreaterThan(0);
    expect(INTENTS).toContain("longhorn");
  });

  it.each(ORACLE_VERSIONS)(
    "every plan's patches for Talos %s are accepted, with every intent alone and all together",
    async (v) => {
      const patches = new Map<string, string[]>();
      const intentSets = [[], ...INTENTS.map((i) => [i]), INTENTS];
      let plans = 0;
      for (const [name, machine] of machines) {
        for (const intents of intentSets) {
          const plan = planHardware(machine, { talosVersion: `v${v}.0`, intents });
          plans++;
          add(patches, plan.patches, `${name} [${intents.join(",") || "no intent"}]`);
        }
      }
      const { failures, checked } = await judge(v, patches);
      counts[`hardware ${v}`] = checked;
      expect(plans).toBe(machines.length * intentSets.length);
      // NVIDIA machines and the module/sysctl intents always emit patches.
      expect(checked).toBeGreaterThan(1);
      expect(failures, failures.join("\n\n")).toEqual([]);
    },
  );

  it.each(ORACLE_VERSIONS.filter((v) => v < "1.14"))(
    "Talos %s accepts every kernel argument a plan puts in a schematic, as machine.install.extraKernelArgs",
    async (v) => {
      // Schematic kernel arguments go into the image; a machine installed without the
      // factory takes the same arguments from its config, which Talos's loader checks.
      // From 1.12 the generated config boots GRUB with the UKI's command line
      // (grubUseUKICmdline), which Talos refuses beside extraKernelArgs: turned off here.
      // 1.14 has no such field beside its UnattendedInstallConfig: the schematic alone
      // carries kernel arguments there (kernelArgsPatch refuses, saying so).
      const patches = new Map<string, string[]>();
      for (const [name, machine] of machines) {
        const plan = planHardware(machine, { talosVersion: `v${v}.0`, intents: ["llm"] });
        const args = plan.schematic.customization.extraKernelArgs ?? [];
        if (!args.length) continue;
        const uki = v >= "1.12" ? "    grubUseUKICmdline: false\n" : "";
        const text = `machine:\n  install:\n${uki}    extraKernelArgs:\n${args.map((a) => `      - ${a}\n`).join("")}`;
        patches.set(text, [...(patches.get(text) ?? []), name]);
      }
      const { failures, checked } = await judge(v, patches);
      counts[`kernel args ${v}`] = checked;
      // The Strix Halo profile (128 GiB) at least: amdgpu.gttsize and the ttm limits.
      expect([...patches.keys()].join("")).toContain("amdgpu.gttsize=126976");
      expect(failures, failures.join("\n\n")).toEqual([]);
    },
  );

  it.each(ORACLE_VERSIONS)(
    "Talos %s: what a plan asks for is in the patched config (nothing dropped)",
    async (v) => {
      const machine = machines.find(([n]) => n === "fixtures/rtx-workstation.txt")?.[1];
      expect(machine).toBeDefined();
      const plan = planHardware(machine as MachineInventory, {
        talosVersion: `v${v}.0`,
        intents: ["drbd", "mayastor"],
      });
      const patched = await machinery(v).patch(await base(v, "worker"), [yamlOf(plan.patches)]);
      expect(patched.ok, patched.error).toBe(true);
      for (const m of plan.kernelModules) expect(patched.config).toContain(`name: ${m.name}`);
      for (const key of Object.keys(plan.sysctls)) expect(patched.config).toContain(key);
      expect(plan.kernelModules.map((m) => m.name)).toEqual(
        expect.arrayContaining(["nvidia", "drbd", "nvme_tcp"]),
      );
    },
  );
});

// ---------------------------------------------------------------------------
// patchMachineConfig: the config it sends a node, from builder documents.

describe("patchMachineConfig", () => {
  const versions = BUILDER_VERSIONS.filter((v) => v >= "1.12");

  it.each(versions)(
    "Talos %s: the config sent to the node keeps every module and sysctl and is accepted",
    async (v) => {
      const sim = await startCluster({
        nodes: [{ address: "10.5.0.2", role: "worker", version: `v${v}.0` }],
      });
      const client = TalosClient.connect(
        sim.clientOptions({ roles: ["os:admin"], nodes: ["10.5.0.2"] }),
      );
      try {
        const node = sim.nodes[0];
        if (!node) throw new Error("no simulated node");
        node.state.config = await base(v, "worker");
        node.touch();
        const docs = [
          ...b.gpuRuntimePatch("nvidia", v),
          ...b.kernelModulesPatch([{ name: "zfs" }], v),
          ...b.sysctlsPatch({ "vm.nr_hugepages": "1024" }, v),
          ...b.nodeMetadataPatch({ labels: { "gpu.vendor": "nvidia" } }, v),
        ];
        const result = await patchMachineConfig(client, {
          node: "10.5.0.2",
          patches: [b.builtPatch(docs)],
          mode: "no-reboot",
        });
        expect(result.applied).toBe(true);
        for (const name of ["nvidia", "nvidia_uvm", "nvidia_drm", "nvidia_modeset", "zfs"])
          expect(result.config).toMatch(new RegExp(`name: ${name}\\n`));
        expect(result.config).toContain("net.core.bpf_jit_harden");
        expect(result.config).toContain("vm.nr_hugepages");
        expect(node.state.config).toBe(result.config);
        const verdict = await machinery(v).validate(result.config);
        expect(verdict.ok, `${verdict.error}\n${result.config}`).toBe(true);
      } finally {
        client.close();
        await sim.close();
      }
    },
  );
});
