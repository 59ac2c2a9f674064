// A server that goes away (GOAWAY on an idle connection, as a restarting apid does)
// must never surface as an uncaught exception: the next call just reconnects.
import { afterAll, beforeAll, expect, it } from "vitest";
import { TalosClient } from "../src/index.js";
import { type ClusterSimulator, startCluster } from "./helpers/sim.js";
import { until } from "./helpers/until.js";

let sim: ClusterSimulator;
let client: TalosClient;
const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => uncaught.push(error);

beforeAll(async () => {
  sim = await startCluster({ nodes: [{ address: "10.5.0.2" }] });
  client = TalosClient.connect(sim.clientOptions());
  process.on("uncaughtException", onUncaught);
});

afterAll(async () => {
  process.off("uncaughtException", onUncaught);
  client?.close();
  await sim?.close();
});

it("reconnects after the router restarts under an idle connection", async () => {
  for (let round = 0; round < 8; round++) {
    const reply = await client.at("10.5.0.2").machine.version({});
    expect(reply.messages[0]?.version?.tag).toBe("v1.14.0");
    const known = client.nodeState("10.5.0.2");
    await sim.faults.clear(); // restarts the router: idle sessions get GOAWAY
    // Every other round the next call races the GOAWAY; the others start once the client
    // has seen it, which it shows by forgetting what it knew of the nodes behind it.
    if (round % 2 === 1) await until(() => client.nodeState("10.5.0.2") !== known);
  }
  const reply = await client.at("10.5.0.2").machine.version({});
  expect(reply.messages[0]?.version?.tag).toBe("v1.14.0");
  expect(uncaught).toEqual([]);
});
