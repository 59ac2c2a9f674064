// The live-node path against the cluster simulator over real mTLS: every
// simulated machine must resolve exactly as the lspci capture of the same
// machine does, on configured nodes and in maintenance mode, on Talos
// versions with and without CPUCores and MachineService.Version.
import { readFileSync } from "node:fs";
import { TalosClient } from "@taloskit/client";
import { type ClusterSimulator, type HardwareProfileName, startCluster } from "@taloskit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MachineInventory } from "../../src/hardware/inventory.js";
import { type HardwarePlan, planHardware } from "../../src/hardware/resolve.js";
import { inventoryFromLspci } from "../../src/hardware/sources/lspci.js";
import {
  inventoryFromNode,
  inventoryFromNodes,
  readTalosHardware,
} from "../../src/hardware/sources/node.js";

/** Each lspci fixture and the simulator profile of the same machine. */
const MACHINES: [fixture: string, profile: HardwareProfileName][] = [
  ["hgx-h100", "nvidia-hgx-server"],
  ["rtx-workstation", "nvidia-rtx-workstation"],
  ["pascal-desktop", "nvidia-pascal-desktop"],
  ["amd-mi300x-server", "amd-gpu-node"],
  ["radeon-workstation", "radeon-workstation"],
  ["intel-nuc", "intel-nuc"],
  ["proxmox-vm", "proxmox-vm"],
  ["vmware-vm", "vmware-vm"],
  ["hyperv-vm", "hyperv-vm"],
  ["aws-instance", "aws-instance"],
  ["raspberry-pi-4", "raspberry-pi-4"],
  ["raspberry-pi-5", "raspberry-pi-5"],
];
/** Node versions cycle through these so that each Talos API shape is covered. */
const VERSIONS = ["v1.14.0", "v1.13.4", "v1.12.6"];

/** Machines read whole from a live node only (no lspci capture): board, memory, platform. */
const WHOLE_MACHINES: [address: string, profile: HardwareProfileName, version: string][] = [
  ["10.5.3.10", "rock-5b", "v1.13.4"],
  ["10.5.3.11", "strix-halo", "v1.14.0"],
  ["10.5.3.12", "intel-nuc", "v1.12.6"],
];

const configured = (i: number) => `10.5.1.${i + 10}`;
const maintenance = (i: number) => `10.5.2.${i + 10}`;

let sim: ClusterSimulator;
let client: TalosClient;

beforeAll(async () => {
  sim = await startCluster({
    nodes: MACHINES.flatMap(([, profile], i) => [
      {
        address: configured(i),
        role: i === 0 ? ("controlplane" as const) : ("worker" as const),
        profile,
        version: VERSIONS[i % 3],
      },
      // Maintenance nodes take the next version in the cycle, so that each profile meets two.
      { address: maintenance(i), profile, maintenance: true, version: VERSIONS[(i + 1) % 3] },
    ]).concat(
      WHOLE_MACHINES.map(([address, profile, version]) => ({
        address,
        role: "worker" as const,
        profile,
        version,
      })),
    ),
  });
  client = TalosClient.connect(sim.clientOptions({ roles: ["os:reader"] }));
});
afterAll(async () => {
  client?.close();
  await sim?.close();
});

function fromFixture(name: string): MachineInventory {
  const text = readFileSync(new URL(`../fixtures/lspci/${name}.txt`, import.meta.url), "utf8");
  return inventoryFromLspci(text, name);
}

const OPTIONS = { talosVersion: "v1.14.0", intents: ["longhorn"] };

/** What must be identical whatever source a machine was read from. */
function outcome(p: HardwarePlan) {
  return {
    schematic: p.schematic,
    id: p.id,
    arch: p.arch,
    platform: p.platform,
    installer: p.installer,
    assets: p.assets,
    patches: p.patches,
    rules: p.reasons.map((r) => r.rule),
    extensionsByRule: p.reasons.map((r) => r.extensions),
    warnings: p.warnings,
  };
}

function maintenanceClient(address: string): TalosClient {
  const node = sim.node(address);
  return TalosClient.maintenance({
    endpoint: node.endpoint,
    fingerprints: [node.maintenanceFingerprint ?? ""],
  });
}

describe("live nodes resolve like the lspci capture of the same machine", () => {
  it.each(MACHINES.map(([fixture, profile], i) => [fixture, profile, i] as const))(
    "%s (%s): configured node and maintenance node",
    async (fixture, _profile, i) => {
      const expected = outcome(planHardware(fromFixture(fixture), OPTIONS));
      const live = await inventoryFromNode(client, configured(i));
      expect(live.source).toBe(`talos ${configured(i)}`);
      expect(outcome(planHardware(live, OPTIONS))).toEqual(expected);

      const m = maintenanceClient(maintenance(i));
      try {
        const fromMaintenance = await inventoryFromNode(m, undefined);
        expect(fromMaintenance.source).toMatch(/\(maintenance\)$/);
        expect(outcome(planHardware(fromMaintenance, OPTIONS))).toEqual(expected);
      } finally {
        m.close();
      }
    },
  );
});

describe("live inventory details", () => {
  it("reads SMBIOS, CPU, memory, disks, arch and the running version from a node", async () => {
    const inv = await inventoryFromNode(client, configured(0));
    expect(inv.system).toEqual({ manufacturer: "Supermicro", productName: "SYS-821GE-TNHR" });
    expect(inv.cpu).toMatchObject({ vendor: "intel", arch: "amd64" });
    expect(inv.memoryMiB).toBe(32 * 65536);
    expect(inv.disks[0]).toMatchObject({ name: "nvme0n1", transport: "nvme" });
    expect(inv.pciDevices).toHaveLength(20);
    expect(inv.running?.talosVersion).toBe("v1.14.0");
  });

  it("infers arm64 on a Talos 1.12 maintenance node, which serves neither Version nor CPUCores", async () => {
    // raspberry-pi-4 is MACHINES[10]: its maintenance node runs VERSIONS[(10 + 1) % 3] = v1.12.6.
    const m = maintenanceClient(maintenance(10));
    try {
      const raw = await readTalosHardware(m, undefined);
      expect(raw.arch).toBeUndefined();
      expect(raw.cpuCores).toEqual([]);
      const inv = await inventoryFromNode(m, undefined);
      expect(inv.cpu.arch).toBe("arm64");
      expect(planHardware(inv, OPTIONS).schematic.overlay?.name).toBe("rpi_generic");
    } finally {
      m.close();
    }
  });

  it("reports the schematic a node runs", async () => {
    const node = sim.node(configured(6));
    node.state.schematic = "a".repeat(64);
    node.touch();
    const inv = await inventoryFromNode(client, configured(6));
    expect(inv.running?.schematicId).toBe("a".repeat(64));
  });

  it("reads the schematic from ImageFactorySchematic on Talos 1.14, as the upgrade does", async () => {
    // A 1.14 node without the virtual `schematic` extension layer: only ImageFactorySchematic names it.
    const address = configured(3); // v1.14.0
    const node = sim.node(address);
    node.state.schematic = "b".repeat(64);
    node.touch();
    const cosi = client.cosi as { list: (...a: never[]) => AsyncIterable<unknown> };
    const original = cosi.list;
    cosi.list = (...args: never[]) =>
      (async function* () {
        for await (const m of original.apply(client.cosi, args)) {
          const md = (m as { resource?: { metadata?: { type?: string; id?: string } } }).resource
            ?.metadata;
          if (md?.type === "ExtensionStatuses.runtime.talos.dev" && md.id === "schematic") continue;
          yield m;
        }
      })();
    try {
      const inv = await inventoryFromNode(client, address);
      expect(inv.running?.schematicId).toBe("b".repeat(64));
    } finally {
      cosi.list = original;
    }
  });

  it("fans out over many nodes, one result or error per node, in order", async () => {
    sim.faults.unreachable(configured(2), true);
    try {
      const results = await inventoryFromNodes(client, [configured(0), configured(2)], {
        timeoutMs: 5_000,
      });
      expect(results.map((r) => r.node)).toEqual([configured(0), configured(2)]);
      const [ok, failed] = results;
      expect(ok && "value" in ok && ok.value.pciDevices.length).toBe(20);
      expect(failed && "error" in failed && failed.error.code).toBe("UNAVAILABLE");
    } finally {
      sim.faults.unreachable(configured(2), false);
    }
  });

  it("stops when the caller aborts", async () => {
    const controller = new AbortController();
    controller.abort(new Error("stop"));
    await expect(
      inventoryFromNode(client, configured(0), { signal: controller.signal }),
    ).rejects.toThrow();
  });
});

describe("the whole machine from a live node", () => {
  it("a Rockchip board names itself in its device tree (MachineService.Read, an os:admin call): rock5b overlay", async () => {
    const admin = TalosClient.connect(sim.clientOptions({ roles: ["os:admin"] }));
    let inv: MachineInventory;
    try {
      inv = await inventoryFromNode(admin, "10.5.3.10");
    } finally {
      admin.close();
    }
    expect(inv.board).toEqual({
      model: "Radxa ROCK 5B",
      compatible: ["radxa,rock-5b", "rockchip,rk3588"],
    });
    expect(inv.pciDevices).toEqual([]);
    const plan = planHardware(inv, { talosVersion: "v1.13.4" });
    expect(plan.schematic.overlay).toEqual({ name: "rock5b", image: "siderolabs/sbc-rockchip" });
    expect(plan.reasons[0]?.because).toContain('board compatible "radxa,rock-5b"');
    expect(plan.arch).toBe("arm64");
  });

  it("a reader cannot read the device tree: the board stays unknown and the plan says what to do", async () => {
    const inv = await inventoryFromNode(client, "10.5.3.10");
    expect(inv.board).toBeUndefined();
    const plan = planHardware(inv, { talosVersion: "v1.13.4" });
    expect(plan.schematic.overlay).toBeUndefined();
    expect(plan.warnings).toContain(
      "arm64 machine without a board model: no overlay chosen (read the node with an os:admin client, which can read /proc/device-tree, or give board.model)",
    );
  });

  it("Strix Halo: the memory modules (8 x 16 GiB) size the GPU's GTT; the CPU vendor is AMD", async () => {
    const inv = await inventoryFromNode(client, "10.5.3.11");
    expect(inv.memoryMiB).toBe(131072);
    expect(inv.cpu).toMatchObject({ vendor: "amd", arch: "amd64" });
    const plan = planHardware(inv, { talosVersion: "v1.14.0" });
    expect(plan.schematic.customization.extraKernelArgs).toEqual([
      "amdgpu.gttsize=126976",
      "ttm.pages_limit=32505856",
      "ttm.page_pool_size=32505856",
    ]);
    expect(plan.warnings.filter((w) => w.includes("memory size"))).toEqual([]);
  });

  it("the platform and SecureBoot state a node booted in make the installer reference exact", async () => {
    const node = sim.node("10.5.3.12");
    node.state.platform = "nocloud";
    node.state.secureBoot = true;
    node.touch();
    const inv = await inventoryFromNode(client, "10.5.3.12");
    expect(inv.running).toMatchObject({
      talosVersion: "v1.12.6",
      platform: "nocloud",
      secureBoot: true,
    });
    const plan = planHardware(inv, { talosVersion: "v1.12.6" });
    expect(plan.platform).toBe("nocloud");
    expect(plan.secureBoot).toBe(true);
    expect(plan.installer).toBe(
      `factory.talos.dev/nocloud-installer-secureboot/${plan.id}:v1.12.6`,
    );
    // An explicit option still wins.
    expect(planHardware(inv, { talosVersion: "v1.12.6", platform: "metal" }).installer).toMatch(
      /^factory\.talos\.dev\/metal-installer-secureboot\//,
    );
  });
});
