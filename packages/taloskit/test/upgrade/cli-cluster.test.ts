// `taloskit upgrade plan` over the whole cluster, against the simulated cluster
// and factory: a talosconfig that names one node plans them all, nodes named
// with -n must cover the cluster, and --only names a subset on purpose.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upgradeCommand } from "../../src/cli/commands/upgrade.js";
import { runCli, type TalosconfigFiles, talosconfigFiles } from "../helpers/cli.js";
import { type Env, SCHEMATIC_A, startEnv } from "./helpers.js";

let env: Env;
let files: TalosconfigFiles;
let oneNode: string;
const CP = "10.6.0.2";
const W1 = "10.6.0.3";
const W2 = "10.6.0.4";

beforeAll(async () => {
  env = await startEnv([
    {
      address: CP,
      hostname: "cp",
      role: "controlplane",
      version: "v1.13.3",
      schematic: SCHEMATIC_A,
    },
    { address: W1, hostname: "w1", role: "worker", version: "v1.13.3", schematic: SCHEMATIC_A },
    { address: W2, hostname: "w2", role: "worker", version: "v1.13.3", schematic: SCHEMATIC_A },
  ]);
  files = await talosconfigFiles(env.sim);
  oneNode = await files.write("talosconfig", { nodes: [CP] });
});
afterAll(async () => {
  await env?.close();
  await files?.remove();
});

const plan = (...args: string[]) =>
  runCli(
    upgradeCommand,
    [
      "plan",
      "--to",
      "v1.14.0",
      "--talosconfig",
      oneNode,
      "--factory",
      env.factory.url,
      "-o",
      "json",
      ...args,
    ],
    { env: {} },
  );

describe("taloskit upgrade plan covers the cluster", () => {
  it("plans every node of the cluster when the talosconfig names one", async () => {
    const r = await plan();
    expect(JSON.parse(r.stdout).nodes.map((n: { node: string }) => n.node)).toEqual([CP, W1, W2]);
  });

  it("refuses nodes named with -n that leave part of the cluster out", async () => {
    await expect(plan("-n", W1)).rejects.toThrow(
      /the cluster has 3 nodes and the plan names 1: it leaves out cp \(10\.6\.0\.2, controlplane\), w2 \(10\.6\.0\.4, worker\).*--only/,
    );
  });

  it("plans the nodes --only names, and says which it leaves out", async () => {
    const r = await plan("--only", `${W1},w2`);
    expect(JSON.parse(r.stdout).nodes.map((n: { node: string }) => n.node)).toEqual([W1, W2]);
    const table = await plan("--only", W1, "-o", "table");
    expect(table.stderr).toContain("left out (--only): cp (10.6.0.2), w2 (10.6.0.4)");
    expect(env.sim.node(W1).calls("/machine.MachineService/Upgrade")).toBe(0);
  });
});
