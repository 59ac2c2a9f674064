// `taloskit hardware inventory|resolve` against lspci/NFD/JSON files and
// against the cluster simulator over real mTLS (configured and maintenance nodes).
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { TalosClient } from "@taloskit/client";
import { FactoryClient, VANILLA_SCHEMATIC_ID } from "@taloskit/factory";
import { type ClusterSimulator, startFactoryServer } from "@taloskit/testing";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { parse as parseYaml } from "yaml";
import { hardwareCommand } from "../../src/cli/commands/hardware.js";
import { reportFailure } from "../../src/cli/globals.js";
import type { NodeDrift } from "../../src/hardware/fleet.js";
import { planHardware } from "../../src/hardware/resolve.js";
import { inventoryFromLspci } from "../../src/hardware/sources/lspci.js";
import { type CliCluster, parseJsonStream, runMain, startCliCluster } from "../helpers/cli.js";

const fixture = (name: string) =>
  fileURLToPath(new URL(`../fixtures/lspci/${name}.txt`, import.meta.url));

let cluster: CliCluster;
let sim: ClusterSimulator;
let cfg: string;
let dir: string;

beforeAll(async () => {
  cluster = await startCliCluster(
    {
      nodes: [
        { address: "10.5.0.2", role: "controlplane", profile: "nvidia-hgx-server" },
        { address: "10.5.0.3", role: "worker", profile: "proxmox-vm", version: "v1.13.4" },
        { address: "10.5.0.4", role: "worker", profile: "nvidia-hgx-server" },
        { address: "10.5.0.9", maintenance: true, profile: "raspberry-pi-5" },
      ],
    },
    { roles: ["os:reader"], nodes: ["10.5.0.2"] },
  );
  ({ sim, cfg } = cluster);
  dir = cluster.files.dir;
});
afterAll(async () => {
  await cluster?.close();
});

const run = (args: string[], stdin = "") =>
  runMain(hardwareCommand, args, { env: {}, stdin: () => stdin });

const expectedPlan = (name: string, talosVersion = "v1.14.0", intents: string[] = []) =>
  planHardware(inventoryFromLspci(readFileSync(fixture(name), "utf8"), name), {
    talosVersion,
    intents,
  });

describe("hardware resolve from files", () => {
  it("-o json gives the schematic in the factory's schema, id, installer, assets, patches, reasons and warnings", async () => {
    const r = await run([
      "resolve",
      "--from-lspci",
      fixture("hgx-h100"),
      "--talos-version",
      "v1.14.0",
      "--intent",
      "zfs",
      "--intent",
      "drbd",
      "-o",
      "json",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    const want = expectedPlan("hgx-h100", "v1.14.0", ["zfs", "drbd"]);
    expect(out).toMatchObject({
      schematic: want.schematic,
      id: want.id,
      installer: want.installer,
      assets: want.assets,
      patches: want.patches,
      warnings: want.warnings,
    });
    expect(out.schematic.customization.systemExtensions.officialExtensions).toContain(
      "siderolabs/zfs",
    );
    expect(out.reasons.map((x: { rule: string }) => x.rule)).toContain("intent-drbd");
    expect(out.patches.some((d: { kind?: string }) => d.kind === "KernelModuleConfig")).toBe(true);
  });

  it("reads stdin, honours --arch, --platform, --secureboot, --extension and --factory", async () => {
    const r = await run(
      [
        "resolve",
        "--from-lspci",
        "-",
        "--talos-version",
        "1.13.2",
        "--secureboot",
        "--extension",
        "siderolabs/iscsi-tools",
        "--kernel-arg",
        "console=ttyS0",
        "--factory",
        "https://factory.example.com",
        "-o",
        "yaml",
      ],
      readFileSync(fixture("intel-nuc"), "utf8"),
    );
    expect(r.stderr).toBe("");
    const out = parseYaml(r.stdout);
    expect(out.talosVersion).toBe("v1.13.2");
    expect(out.schematic.customization.extraKernelArgs).toEqual(["console=ttyS0"]);
    expect(out.schematic.customization.systemExtensions.officialExtensions).toContain(
      "siderolabs/iscsi-tools",
    );
    expect(out.installer).toBe(`factory.example.com/metal-installer-secureboot/${out.id}:v1.13.2`);
  });

  it("groups several machines by schematic (fleet mode)", async () => {
    const r = await run([
      "resolve",
      "--from-lspci",
      fixture("hgx-h100"),
      "--from-lspci",
      fixture("proxmox-vm"),
      "--from-lspci",
      fixture("raspberry-pi-4"),
      "--talos-version",
      "v1.14.0",
      "-o",
      "json",
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.machines.map((m: { machine: string }) => m.machine)).toEqual([
      "hgx-h100",
      "proxmox-vm",
      "raspberry-pi-4",
    ]);
    expect(out.groups).toHaveLength(3);
    const pi = out.groups.find((g: { arch: string }) => g.arch === "arm64");
    expect(pi.machines).toEqual(["raspberry-pi-4"]);
    expect(pi.id).toBe(expectedPlan("raspberry-pi-4").id);
    expect(pi.assets.diskImage).toMatch(/metal-arm64\.raw\.zst$/);
    const table = await run([
      "resolve",
      "--from-lspci",
      fixture("hgx-h100"),
      "--from-lspci",
      fixture("hgx-h100"),
      "--talos-version",
      "v1.14.0",
    ]);
    expect(table.stdout).toMatch(/^SCHEMATIC\s+PLATFORM\s+EXTENSIONS\s+MACHINES/);
    expect(table.stdout).toContain("hgx-h100,hgx-h100");
  });

  it("prints a readable table with reasons and warnings by default", async () => {
    const r = await run([
      "resolve",
      "--from-lspci",
      fixture("rtx-workstation"),
      "--talos-version",
      "v1.14.0",
    ]);
    expect(r.stdout).toMatch(/^FIELD\s+VALUE\nMACHINE\s+rtx-workstation\n/);
    expect(r.stdout).toContain("INSTALLER    factory.talos.dev/metal-installer/");
    expect(r.stdout).toMatch(/nvidia-gpu-open\s+nvidia-open-gpu-kernel-modules-lts/);
    expect(r.stdout).toContain("Wi-Fi adapter found");
  });

  it("reads NFD labels, JSON inventories and extra rules", async () => {
    const nfd = join(dir, "nodes.json");
    await writeFile(
      nfd,
      JSON.stringify({
        kind: "List",
        items: [
          {
            metadata: {
              name: "gpu-1",
              labels: {
                "kubernetes.io/arch": "amd64",
                "feature.node.kubernetes.io/pci-0302_10de_2330.present": "true",
              },
            },
          },
        ],
      }),
    );
    const json = join(dir, "acme.json");
    await writeFile(
      json,
      JSON.stringify({
        name: "acme-box",
        pciDevices: [{ classId: "0x12", subclassId: "0x00", vendorId: "0xabcd" }],
      }),
    );
    const rules = join(dir, "rules.yaml");
    await writeFile(
      rules,
      "- id: acme\n  summary: Acme cards need gvisor (for the test)\n  when: { pci: { vendor: ['0xabcd'] } }\n  extensions: [gvisor]\n",
    );
    const r = await run([
      "resolve",
      "--from-nfd",
      nfd,
      "--from-json",
      json,
      "--rules",
      rules,
      "--talos-version",
      "v1.14.0",
      "-o",
      "json",
    ]);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout);
    const [gpu, acme] = out.machines;
    expect(gpu.machine).toBe("gpu-1");
    expect(gpu.schematic.customization.systemExtensions.officialExtensions).toContain(
      "siderolabs/nvidia-open-gpu-kernel-modules-lts",
    );
    expect(acme.machine).toBe("acme-box");
    expect(acme.schematic.customization.systemExtensions.officialExtensions).toEqual([
      "siderolabs/gvisor",
    ]);
  });

  it("rejects bad input with one line on stderr and a non-zero exit", async () => {
    const bad = join(dir, "bad.txt");
    // Plain lspci whose NIC vendor name stands for two PCI ids (Marvell's 11ab and 1b4b).
    await writeFile(
      bad,
      "02:00.0 Ethernet controller: Marvell Technology Group Ltd. 88E8056 PCI-E Gigabit Ethernet Controller\n",
    );
    const cases: [string[], RegExp][] = [
      [
        ["resolve", "--from-lspci", bad, "--talos-version", "1.14"],
        /^taloskit: .*bad\.txt: lspci: line 1: the vendor name stands for no single PCI id in .*: run lspci with -nn/,
      ],
      [["resolve", "--from-lspci", fixture("hgx-h100")], /^taloskit: --talos-version is needed/],
      [
        ["resolve", "--from-lspci", fixture("hgx-h100"), "--talos-version", "banana"],
        /^taloskit: hgx-h100: invalid talosVersion "banana": expected v<major>/,
      ],
      [
        ["inventory", "--from-json", join(dir, "missing.json")],
        /^taloskit: cannot read .*missing\.json/,
      ],
      [
        [
          "resolve",
          "--from-lspci",
          fixture("hgx-h100"),
          "--talos-version",
          "1.14",
          "--factory",
          "ftp:x",
        ],
        /^taloskit: --factory ftp:x: expected an http\(s\) URL/,
      ],
      [
        ["resolve", "--from-lspci", fixture("hgx-h100"), "--talos-version", "1.14", "--rules", bad],
        /^taloskit: .*bad\.txt: rules: expected a list of rules/,
      ],
      [
        ["inventory", "--from-lspci", fixture("hgx-h100"), "-n", "10.5.0.2"],
        /^taloskit: give either nodes/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr, args.join(" ")).toMatch(message);
      expect(r.stderr.trimEnd().split("\n"), args.join(" ")).toHaveLength(1);
      expect(r.stdout).toBe("");
    }
  });
});

describe("hardware inventory", () => {
  it("summarizes machines in a table, and gives the whole inventory as json", async () => {
    const r = await run([
      "inventory",
      "--from-lspci",
      fixture("hgx-h100"),
      "--from-lspci",
      fixture("raspberry-pi-5"),
    ]);
    expect(r.stdout).toMatch(/^MACHINE\s+SOURCE\s+ARCH/);
    expect(r.stdout).toContain("8x [10de:2330] NVIDIA Corporation GH100 [H100 SXM5 80GB]");
    expect(r.stdout).toMatch(/raspberry-pi-5\s+lspci\s+arm64/);
    const json = await run(["inventory", "--from-lspci", fixture("vmware-vm"), "-o", "json"]);
    expect(parseJsonStream(json.stdout)[0]).toMatchObject({
      source: "lspci",
      name: "vmware-vm",
      cpu: { vendor: "intel", arch: "amd64" },
    });
  });

  it("reads live nodes through the talosconfig, and a maintenance node with --insecure", async () => {
    const r = await run([
      "inventory",
      "--talosconfig",
      cfg,
      "-n",
      "10.5.0.2,10.5.0.3",
      "-o",
      "json",
    ]);
    expect(r.stderr).toBe("");
    const out = parseJsonStream(r.stdout) as {
      name: string;
      system: { productName: string };
      running: { talosVersion: string };
    }[];
    expect(out.map((m) => m.name)).toEqual(["10.5.0.2", "10.5.0.3"]);
    expect(out[0]?.system.productName).toBe("SYS-821GE-TNHR");
    expect(out[1]?.running.talosVersion).toBe("v1.13.4");
    const m = sim.node("10.5.0.9");
    const maint = await run([
      "inventory",
      "--insecure",
      "-n",
      m.endpoint,
      "--cert-fingerprint",
      m.maintenanceFingerprint ?? "",
    ]);
    expect(maint.stderr).toBe("");
    expect(maint.stdout).toContain(m.endpoint);
    expect(maint.stdout).toMatch(/arm64/);
  });
});

describe("hardware from several configured nodes", () => {
  it("reads them through one bounded fan-out (client.onNodes), named as given", async () => {
    const fanOut = vi.spyOn(TalosClient.prototype, "onNodes");
    try {
      const r = await run([
        "inventory",
        "--talosconfig",
        cfg,
        "-n",
        "10.5.0.3,10.5.0.2,10.5.0.4",
        "-o",
        "json",
      ]);
      expect(r.code).toBe(0);
      expect(fanOut).toHaveBeenCalledTimes(1);
      expect(fanOut.mock.calls[0]?.[0]).toEqual(["10.5.0.3", "10.5.0.2", "10.5.0.4"]);
      expect(fanOut.mock.calls[0]?.[2]).toMatchObject({ concurrency: 8 });
      const out = parseJsonStream(r.stdout) as { name: string }[];
      expect(out.map((m) => m.name)).toEqual(["10.5.0.3", "10.5.0.2", "10.5.0.4"]);
    } finally {
      fanOut.mockRestore();
    }
  });
});

describe("the CLI's failure report (main's catch, every command)", () => {
  it("is one line on stderr, the message's lines joined, and exit code 1", () => {
    let stderr = "";
    const before = process.exitCode;
    try {
      reportFailure(new Error("first line\n  second line\n"), {
        stderr: (t) => {
          stderr += t;
        },
      });
      expect(process.exitCode).toBe(1);
    } finally {
      process.exitCode = before;
    }
    expect(stderr).toBe("taloskit: first line second line\n");
  });
});

describe("hardware resolve from live nodes", () => {
  it("a configured node resolves like its lspci capture, for the version it runs by default", async () => {
    const r = await run(["resolve", "--talosconfig", cfg, "-o", "json"]);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout);
    const want = expectedPlan("hgx-h100");
    expect(out.talosVersion).toBe("v1.14.0");
    expect(out.id).toBe(want.id);
    expect(out.patches).toEqual(want.patches);
    // The simulated node runs the vanilla image: it needs an upgrade to the resolved one.
    expect(out.running).toEqual({
      talosVersion: "v1.14.0",
      schematicId: "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba",
      platform: "metal",
      secureBoot: false,
      inSync: false,
    });
  });

  it("a maintenance node resolves like its lspci capture", async () => {
    const m = sim.node("10.5.0.9");
    const r = await run([
      "resolve",
      "--insecure",
      "-n",
      m.endpoint,
      "--cert-fingerprint",
      m.maintenanceFingerprint ?? "",
      "--talos-version",
      "v1.14.0",
      "-o",
      "json",
    ]);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout);
    expect(out.machine).toBe(m.endpoint);
    expect(out.schematic).toEqual(expectedPlan("raspberry-pi-5").schematic);
    expect(out.id).toBe(expectedPlan("raspberry-pi-5").id);
  });

  it("groups several nodes, and reports an unreachable one on stderr with a non-zero exit", async () => {
    sim.faults.unreachable("10.5.0.3", true);
    try {
      const r = await run([
        "resolve",
        "--talosconfig",
        cfg,
        "-n",
        "10.5.0.2,10.5.0.3,10.5.0.4",
        "--talos-version",
        "v1.14.0",
        "-o",
        "json",
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^taloskit: 10\.5\.0\.3: .*\(unavailable\)/);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      const out = JSON.parse(r.stdout);
      expect(out.groups).toEqual([
        expect.objectContaining({
          id: expectedPlan("hgx-h100").id,
          machines: ["10.5.0.2", "10.5.0.4"],
        }),
      ]);
    } finally {
      sim.faults.unreachable("10.5.0.3", false);
    }
  });
});

describe("hardware drift", () => {
  it("compares each node's running schematic, platform and SecureBoot with its hardware's; exit 2 on drift", async () => {
    const factory = await startFactoryServer();
    const hgx = sim.node("10.5.0.4");
    const vm = sim.node("10.5.0.3");
    const before = { hgx: hgx.state.schematic, vm: vm.state.schematic };
    try {
      // 10.5.0.4 runs what its hardware needs: the schematic is in the factory and on the node.
      const want = expectedPlan("hgx-h100");
      const created = await new FactoryClient({ baseUrl: factory.url }).createSchematic(
        want.schematic,
      );
      expect(created.id).toBe(want.id);
      hgx.state.schematic = want.id;
      hgx.touch();
      // 10.5.0.3 runs a schematic the factory does not know.
      vm.state.schematic = "c".repeat(64);
      vm.touch();
      const args = ["drift", "--talosconfig", cfg, "-n", "10.5.0.2,10.5.0.3,10.5.0.4"];
      const r = await run([...args, "--factory", factory.url, "-o", "json"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(2);
      const out = JSON.parse(r.stdout) as {
        nodes: (NodeDrift & { warnings: string[] })[];
        ids: { id: string; machines: string[] }[];
      };
      const [vanilla, unknown, inSync] = out.nodes;
      // 10.5.0.2 runs the vanilla image: an upgrade adds every extension its GPUs need.
      expect(vanilla).toMatchObject({
        machine: "10.5.0.2",
        drift: true,
        runningId: VANILLA_SCHEMATIC_ID,
        wantedId: want.id,
        extra: [],
        runningSchematicKnown: true,
        platform: { running: "metal", wanted: "metal" },
        secureBoot: { running: false, wanted: false },
        installer: `factory.talos.dev/metal-installer/${want.id}:v1.14.0`.replace(
          "factory.talos.dev",
          factory.url.replace(/^https?:\/\//, ""),
        ),
      });
      expect(vanilla?.missing).toEqual(
        want.schematic.customization.systemExtensions?.officialExtensions,
      );
      expect(unknown).toMatchObject({
        machine: "10.5.0.3",
        drift: true,
        runningSchematicKnown: false,
      });
      expect(unknown?.warnings.join("\n")).toMatch(/does not know the running schematic c{64}/);
      expect(inSync).toMatchObject({ machine: "10.5.0.4", drift: false, missing: [], extra: [] });
      // Both HGX nodes need one schematic.
      expect(out.ids.find((g) => g.id === want.id)?.machines).toEqual(["10.5.0.2", "10.5.0.4"]);

      // The table says what an upgrade would change; a node in sync alone exits 0.
      const table = await run([...args, "--factory", factory.url]);
      expect(table.stdout).toMatch(
        /10\.5\.0\.2 .* yes +\+intel-ucode,nvidia-container-toolkit-lts,nvidia-fabricmanager-lts,/,
      );
      expect(table.stdout).toMatch(
        /10\.5\.0\.3 .* yes +running schematic unknown; wanted: qemu-guest-agent/,
      );
      const ok = await run([
        "drift",
        "--talosconfig",
        cfg,
        "-n",
        "10.5.0.4",
        "--factory",
        factory.url,
      ]);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/10\.5\.0\.4 .* no/);
    } finally {
      hgx.state.schematic = before.hgx;
      vm.state.schematic = before.vm;
      hgx.touch();
      vm.touch();
      await factory.close();
    }
  });
});
