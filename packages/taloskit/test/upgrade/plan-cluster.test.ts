// Planning over the whole cluster, against the simulated cluster and factory
// over real sockets: nodes found from one node (Talos's cluster members and
// etcd's member list, as a node publishes them), partial plans refused unless
// a subset is meant, schematics that would drop a running extension refused,
// and the GRUB kernel-argument hazard of the lifecycle upgrade reported.
import { TalosClient } from "@taloskit/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import { discoverCluster, planUpgrade, UpgradeError } from "../../src/upgrade/index.js";
import { type Env, rejection, SCHEMATIC_A, startEnv } from "./helpers.js";

const CPS = ["10.7.0.2", "10.7.0.3", "10.7.0.4"];
const WORKERS = ["10.7.0.20", "10.7.0.21"];
const host = (a: string) => `n${a.split(".").at(-1)}`;

const planError = (p: Promise<unknown>) => rejection(p, UpgradeError);

describe("the plan covers the whole cluster", () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv([
      ...CPS.map((address) => ({
        address,
        hostname: host(address),
        role: "controlplane" as const,
        version: "v1.13.3",
        schematic: SCHEMATIC_A,
      })),
      ...WORKERS.map((address) => ({
        address,
        hostname: host(address),
        role: "worker" as const,
        // A mixed-version cluster: one worker is a minor behind.
        version: address === WORKERS[0] ? "v1.12.4" : "v1.13.3",
        schematic: SCHEMATIC_A,
      })),
    ]);
  });
  afterAll(() => env?.close());

  /** A client that knows one node only, as a talosconfig with one node in it. */
  const oneNodeClient = (node: string) =>
    TalosClient.connect(env.sim.clientOptions({ roles: ["os:admin"], nodes: [node] }));

  it("finds every node from one worker: Talos's members, and etcd's for the control planes", async () => {
    const found = await discoverCluster(env.client, { via: [WORKERS[1] as string] });
    expect(found.warnings).toEqual([]);
    const byNode = new Map(found.nodes.map((n) => [n.node, n]));
    expect([...byNode.keys()].sort()).toEqual([...CPS, ...WORKERS].sort());
    for (const cp of CPS) {
      expect(byNode.get(cp)).toMatchObject({ hostname: host(cp), role: "controlplane" });
      expect(byNode.get(cp)?.seenBy).toEqual(expect.arrayContaining(["talos", "etcd"]));
    }
    expect(byNode.get(WORKERS[0] as string)).toMatchObject({ role: "worker", seenBy: ["talos"] });
    expect(byNode.get(WORKERS[1] as string)?.seenBy).toEqual(["given", "talos"]);
  });

  it("plans every node when the client knows one, each on its own path", async () => {
    const client = oneNodeClient(CPS[0] as string);
    try {
      const plan = await planUpgrade(client, { to: "v1.14.0", factory: env.factoryClient });
      expect(plan.nodes.map((n) => n.node)).toEqual([...CPS, ...WORKERS]);
      expect(plan.excluded).toEqual([]);
      // 1.14 accepts 1.12 and 1.13 hosts alike: one step each.
      for (const n of plan.nodes) expect(n.steps.map((s) => s.version)).toEqual(["v1.14.0"]);
      expect(plan.nodes.find((n) => n.node === WORKERS[0])?.steps[0]?.method).toBe("legacy");
      expect(plan.nodes.find((n) => n.node === WORKERS[1])?.steps[0]?.method).toBe("lifecycle");
    } finally {
      client.close();
    }
  });

  it("refuses given nodes that leave part of the cluster out, naming what is left out", async () => {
    const e = await planError(
      planUpgrade(env.client, {
        to: "v1.14.0",
        factory: env.factoryClient,
        nodes: [WORKERS[0] as string],
      }),
    );
    expect(e.code).toBe("UPGRADE_PARTIAL_PLAN");
    expect(e.message).toContain("the cluster has 5 nodes and the plan names 1");
    for (const n of [...CPS, WORKERS[1] as string]) expect(e.message).toContain(`${host(n)} (${n}`);
    // Nothing was asked of the node beyond reads.
    expect(env.sim.node(WORKERS[0] as string).calls("/machine.MachineService/Upgrade")).toBe(0);
  });

  it("plans a subset the caller names as one, listing the rest as excluded", async () => {
    const plan = await planUpgrade(env.client, {
      to: "v1.14.0",
      factory: env.factoryClient,
      nodes: [host(WORKERS[0] as string)],
      subset: true,
    });
    // Named by hostname, planned by the address discovery found for it.
    expect(plan.nodes.map((n) => n.node)).toEqual([WORKERS[0]]);
    expect(plan.excluded.map((n) => n.node).sort()).toEqual([...CPS, WORKERS[1]].sort());
  });
});

describe("each node keeps its extensions", () => {
  let env: Env;
  /** A schematic stored at the simulated factory with these official extensions. */
  const schematicWith = (...names: string[]) =>
    env.factoryClient.createSchematic({
      customization: {
        systemExtensions: { officialExtensions: names.map((n) => `siderolabs/${n}`) },
      },
    });
  const GPU = "10.8.0.30";
  const PLAIN = "10.8.0.31";
  beforeAll(async () => {
    env = await startEnv([
      { address: GPU, hostname: "gpu", role: "worker", version: "v1.14.0" },
      { address: PLAIN, hostname: "plain", role: "worker", version: "v1.14.0" },
    ]);
    // The GPU node runs the schematic it was built from, with its two extensions.
    const created = await schematicWith(
      "nvidia-open-gpu-kernel-modules-production",
      "nvidia-container-toolkit-production",
    );
    const gpu = env.sim.node(GPU);
    gpu.state.schematic = created.id;
    gpu.state.extensions = [
      "nvidia-open-gpu-kernel-modules-production",
      "nvidia-container-toolkit-production",
    ].map((name, i) => ({
      image: `00${i}.sqsh`,
      name,
      version: "580.95.05",
      author: "Sidero Labs",
      description: name,
    }));
    gpu.touch();
  });
  afterAll(() => env?.close());

  it("keeps each node's schematic by default, whatever extensions it has", async () => {
    const plan = await planUpgrade(env.client, { to: "v1.14.0", factory: env.factoryClient });
    expect(plan.nodes.every((n) => n.action === "skip")).toBe(true);
  });

  it("refuses a new schematic that lacks an extension a node runs, naming it", async () => {
    const without = await schematicWith("nvidia-open-gpu-kernel-modules-production");
    const e = await planError(
      planUpgrade(env.client, {
        to: "v1.14.0",
        factory: env.factoryClient,
        schematic: without.id,
      }),
    );
    expect(e).toMatchObject({ code: "UPGRADE_EXTENSIONS_LOST", node: GPU });
    expect(e.message).toContain("runs nvidia-container-toolkit-production, which schematic");
    // Told to, the plan goes ahead and says what the node loses.
    const plan = await planUpgrade(env.client, {
      to: "v1.14.0",
      factory: env.factoryClient,
      schematic: without.id,
      allowDroppedExtensions: true,
    });
    expect(plan.nodes.find((n) => n.node === GPU)?.targetSchematic).toBe(without.id);
    expect(plan.warnings.join("\n")).toContain("nvidia-container-toolkit-production");
  });

  it("accepts a new schematic that keeps every running extension and adds one", async () => {
    const more = await schematicWith(
      "nvidia-open-gpu-kernel-modules-production",
      "nvidia-container-toolkit-production",
      "amd-ucode",
    );
    const plan = await planUpgrade(env.client, {
      to: "v1.14.0",
      factory: env.factoryClient,
      schematic: more.id,
    });
    expect(plan.nodes.map((n) => n.steps[0]?.image)).toEqual([
      `${new URL(env.factory.url).host}/metal-installer/${more.id}:v1.14.0`,
      `${new URL(env.factory.url).host}/metal-installer/${more.id}:v1.14.0`,
    ]);
  });

  it("refuses a schematic the factory does not know when the node runs extensions", async () => {
    const e = await planError(
      planUpgrade(env.client, {
        to: "v1.14.0",
        factory: env.factoryClient,
        schematic: { [GPU]: "e".repeat(64) },
      }),
    );
    expect(e.code).toBe("UPGRADE_EXTENSIONS_LOST");
    expect(e.message).toContain(`cannot read schematic ${"e".repeat(64)}`);
  });
});

describe("GRUB nodes and machine.install.extraKernelArgs", () => {
  let env: Env;
  const GRUB = "10.9.0.40";
  const UKI = "10.9.0.41";
  beforeAll(async () => {
    env = await startEnv([
      { address: GRUB, hostname: "grub", role: "worker", version: "v1.13.3" },
      { address: UKI, hostname: "uki", role: "worker", version: "v1.13.3", secureBoot: true },
    ]);
  });
  afterAll(() => env?.close());

  /** Sets install fields in a node's v1alpha1 document. */
  function setInstall(address: string, install: Record<string, unknown>) {
    const n = env.sim.node(address);
    const docs = parseAllDocuments(n.state.config).map(
      (d) => d.toJS() as { version?: string; machine?: { install?: object } },
    );
    const v1 = docs.find((d) => d.version === "v1alpha1") as { machine: { install?: object } };
    v1.machine.install = { ...v1.machine.install, ...install };
    n.state.config = docs.map((d) => stringify(d)).join("---\n");
    n.touch();
  }

  it("warns when the lifecycle upgrade would drop a GRUB node's kernel arguments", async () => {
    setInstall(GRUB, { extraKernelArgs: ["console=ttyS1,115200"] });
    setInstall(UKI, { extraKernelArgs: ["console=ttyS1,115200"] });
    const plan = await planUpgrade(env.client, { to: "v1.14.0", factory: env.factoryClient });
    const hazards = plan.warnings.filter((w) => w.includes("extraKernelArgs"));
    // The UKI node's arguments come from its image either way: only the GRUB node is named.
    expect(hazards).toHaveLength(1);
    expect(hazards[0]).toContain(`${GRUB} boots with GRUB`);
    expect(hazards[0]).toContain("console=ttyS1,115200");
    // The legacy method passes the config's arguments on: no hazard.
    const legacy = await planUpgrade(env.client, {
      to: "v1.14.0",
      factory: env.factoryClient,
      method: "legacy",
    });
    expect(legacy.warnings.some((w) => w.includes("extraKernelArgs"))).toBe(false);
  });

  it("does not warn when GRUB takes the command line from the UKI", async () => {
    setInstall(GRUB, { extraKernelArgs: ["console=ttyS1,115200"], grubUseUKICmdline: true });
    const plan = await planUpgrade(env.client, { to: "v1.14.0", factory: env.factoryClient });
    expect(plan.warnings.some((w) => w.includes("extraKernelArgs"))).toBe(false);
  });
});
