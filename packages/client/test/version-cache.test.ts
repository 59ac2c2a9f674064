// The client remembers each node's Talos version (it picks resource schemas and explains
// missing calls with it), but never past a reboot, an upgrade or a dropped connection.
import { afterAll, beforeAll, expect, it } from "vitest";
import { TalosClient, talosContext } from "../src/index.js";
import { type ClusterSimulator, startCluster } from "./helpers/sim.js";

const NODE = "10.5.0.2";
let sim: ClusterSimulator;
let client: TalosClient;

beforeAll(async () => {
  sim = await startCluster({ rebootDelayMs: 30, nodes: [{ address: NODE, version: "v1.13.3" }] });
  client = TalosClient.connect(sim.clientOptions());
});

afterAll(async () => {
  client?.close();
  await sim?.close();
});

it("keeps a node's version while it runs, and reads it again after a reboot", async () => {
  expect(await client.nodeState(NODE).talosVersion()).toBe("v1.13.3");
  // Changed behind the client's back without a reboot: the cached answer stands.
  sim.node(NODE).state.version = "v1.13.4";
  expect(await client.nodeState(NODE).talosVersion()).toBe("v1.13.3");

  const up = sim.node(NODE).nextBoot(10_000);
  await client.at(NODE).machine.reboot({});
  sim.node(NODE).state.version = "v1.14.0";
  await up;
  expect(await client.nodeState(NODE).talosVersion()).toBe("v1.14.0");
});

it("forgets a node's version when its connection drops", async () => {
  expect(await client.nodeState(NODE).talosVersion()).toBe("v1.14.0");
  sim.faults.unreachable(NODE);
  await expect(
    client.at(NODE).machine.hostname({}, { contextValues: talosContext({ retry: false }) }),
  ).rejects.toMatchObject({
    code: "UNAVAILABLE",
  });
  sim.node(NODE).state.version = "v1.14.1";
  sim.faults.unreachable(NODE, false);
  expect(await client.nodeState(NODE).talosVersion()).toBe("v1.14.1");
});
