// Whole-cluster upgrades of clusters modelled on real homelabs (../shared/homelabs):
// each simulated node takes its hostname, address, role, version, platform,
// secure boot state and schematic from the homelab's own files. After the run,
// each node must have booted exactly the installer its own data calls for,
// written out here from those files (`<factory>/<platform>-installer
// [-secureboot]/<schematic>:<version>`, the Image Factory's installer naming),
// and the control planes must have gone first, one at a time.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FactoryClient } from "@taloskit/factory";
import { type SimNodeOptions, startFactoryServer } from "@taloskit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { planUpgrade, runUpgrade, type UpgradeEvent } from "../../src/upgrade/index.js";
import { type Env, FAST, recorder, startEnv } from "./helpers.js";

const HOMELABS = join(import.meta.dirname, "../../../../../shared/homelabs");
const read = (path: string) => readFileSync(join(HOMELABS, path), "utf8");
const TARGET = "v1.14.0";

interface Expected {
  address: string;
  schematic: string;
  platform: string;
  secureBoot: boolean;
}

/** The installer a node must boot, spelled out from the homelab's data. */
const installerFor = (registry: string, e: Expected) =>
  `${registry}/${e.platform}-installer${e.secureBoot ? "-secureboot" : ""}/${e.schematic}:${TARGET}`;

/** Control planes one at a time, all before the first worker. */
function expectControlPlanesFirst(events: UpgradeEvent[], controlPlanes: readonly string[]) {
  const order = events.flatMap((e) =>
    e.type === "node-start" || e.type === "node-done" ? [`${e.type}:${e.node}`] : [],
  );
  const isCp = (entry: string) => controlPlanes.includes(entry.slice(entry.indexOf(":") + 1));
  const firstWorker = order.findIndex((entry) => !isCp(entry));
  const cpPart = firstWorker < 0 ? order : order.slice(0, firstWorker);
  expect(cpPart).toHaveLength(controlPlanes.length * 2);
  for (let i = 0; i < cpPart.length; i += 2) {
    expect(cpPart[i]?.replace("node-start:", "")).toBe(cpPart[i + 1]?.replace("node-done:", ""));
  }
}

async function upgradeAndCheck(env: Env, expected: Expected[], controlPlanes: string[]) {
  const plan = await planUpgrade(env.client, { to: TARGET, factory: env.factoryClient });
  expect(plan.nodes.map((n) => n.node).sort()).toEqual(expected.map((e) => e.address).sort());
  const registry = new URL(env.factory.url).host;
  for (const e of expected) {
    const planned = plan.nodes.find((n) => n.node === e.address);
    expect(planned?.steps.map((s) => s.image)).toEqual([installerFor(registry, e)]);
  }
  const rec = recorder();
  const summary = await runUpgrade(env.client, plan, { ...FAST, onEvent: rec.on });
  expect(summary.ok).toBe(true);
  for (const e of expected) {
    const s = env.sim.node(e.address).state;
    expect(s.bootedInstallers, e.address).toEqual([installerFor(registry, e)]);
    expect({ version: s.version, schematic: s.schematic, platform: s.platform }).toEqual({
      version: TARGET,
      schematic: e.schematic,
      platform: e.platform,
    });
    expect(s.secureBoot).toBe(e.secureBoot);
  }
  expectControlPlanesFirst(rec.events, controlPlanes);
}

describe("fern: three secure-boot control planes, a different platform per node (talhelper)", () => {
  const talconfig = parse(read("fern/talconfig.yaml")) as {
    talosVersion: string;
    kubernetesVersion: string;
    nodes: {
      hostname: string;
      ipAddress: string;
      controlPlane: boolean;
      talosImageURL: string;
    }[];
  };
  const expected: Expected[] = talconfig.nodes.map((n) => {
    const m = /^[^/]+\/([a-z0-9]+)-installer(-secureboot)?\/([0-9a-f]{64})/.exec(n.talosImageURL);
    if (!m) throw new Error(`unexpected talosImageURL ${n.talosImageURL}`);
    return {
      address: n.ipAddress,
      platform: m[1] as string,
      secureBoot: m[2] !== undefined,
      schematic: m[3] as string,
    };
  });
  let env: Env;
  beforeAll(async () => {
    env = await startEnv(
      talconfig.nodes.map(
        (n, i): SimNodeOptions => ({
          address: n.ipAddress,
          hostname: n.hostname,
          role: n.controlPlane ? "controlplane" : "worker",
          version: talconfig.talosVersion,
          kubernetesVersion: talconfig.kubernetesVersion,
          schematic: expected[i]?.schematic,
          platform: expected[i]?.platform,
          secureBoot: expected[i]?.secureBoot,
        }),
      ),
    );
  });
  afterAll(() => env?.close());

  it("models the homelab as it is: nocloud and metal, all with secure boot", () => {
    expect(new Set(expected.map((e) => e.platform))).toEqual(new Set(["nocloud", "metal"]));
    expect(expected.every((e) => e.secureBoot)).toBe(true);
    expect(talconfig.nodes.every((n) => n.controlPlane)).toBe(true);
  });

  it("upgrades every node on its own installer, control planes one at a time", async () => {
    await upgradeAndCheck(
      env,
      expected,
      talconfig.nodes.map((n) => n.ipAddress),
    );
  });
});

describe("pitower: AMD control planes, Intel and NVIDIA workers, a Proxmox VM and Raspberry Pis (topf)", () => {
  const topf = parse(read("pitower/topf.yaml")) as {
    talosVersion: string;
    kubernetesVersion: string;
    schematicId: string;
    nodes: { host: string; ip: string; role: string; schematicId?: string }[];
  };
  const recorded = JSON.parse(read("schematic-ids.json")) as { id: string; source: string }[];
  /** The hardware each node is, from the homelab's own notes (extension files and node names). */
  const profileOf = (host: string, file: string) =>
    file.includes("rpi")
      ? ("raspberry-pi-4" as const)
      : file.includes("proxmox")
        ? ("proxmox-vm" as const)
        : host === "ai-01"
          ? ("nvidia-rtx-workstation" as const)
          : undefined;
  let env: Env;
  let expected: Expected[];
  let nodes: SimNodeOptions[];
  /** Each extension file's schematic ID, as our factory computes it. */
  const ids = new Map<string, string>();
  beforeAll(async () => {
    const factory = await startFactoryServer({});
    try {
      const client = new FactoryClient({ baseUrl: factory.url, retries: 0 });
      for (const file of new Set(topf.nodes.map((n) => n.schematicId ?? topf.schematicId))) {
        ids.set(file, (await client.createSchematic(read(`pitower/${file.slice(1)}`))).id);
      }
    } finally {
      await factory.close();
    }
    nodes = topf.nodes.map((n) => {
      const file = n.schematicId ?? topf.schematicId;
      return {
        address: n.ip,
        hostname: n.host,
        role: n.role === "control-plane" ? "controlplane" : "worker",
        kubernetesVersion: `v${topf.kubernetesVersion}`,
        schematic: ids.get(file),
        profile: profileOf(n.host, file),
        // A mixed-version cluster: the GPU node lags a minor behind (our variation).
        version: n.host === "ai-01" ? "v1.12.4" : `v${topf.talosVersion}`,
      };
    });
    expected = nodes.map((n) => ({
      address: n.address,
      schematic: n.schematic as string,
      platform: "metal",
      secureBoot: false,
    }));
    env = await startEnv(nodes);
  });
  afterAll(() => env?.close());

  it("computes the schematic IDs the homelab recorded from factory.talos.dev", () => {
    let compared = 0;
    for (const [file, id] of ids) {
      const r = recorded.find((x) => x.source.includes(`pitower/${file.slice(1)} `));
      if (!r) continue;
      expect(id, file).toBe(r.id);
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(3);
  });

  it("upgrades amd64 and arm64 nodes on mixed versions, each on its own installer", async () => {
    const archs = new Set(nodes.map((n) => env.sim.node(n.address).state.arch));
    expect(archs).toEqual(new Set(["amd64", "arm64"]));
    await upgradeAndCheck(
      env,
      expected,
      nodes.filter((n) => n.role === "controlplane").map((n) => n.address),
    );
  });
});
