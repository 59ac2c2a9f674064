// One AbortSignal shared by many calls at once (a deadline over a node's reads, a
// caller's signal across a fan-out): every call listens on it, and that is no leak.
import { afterAll, beforeAll, expect, it } from "vitest";
import { TalosClient } from "../src/index.js";
import { type ClusterSimulator, startCluster } from "./helpers/sim.js";

const NODE = "10.5.0.2";
let sim: ClusterSimulator;
let client: TalosClient;

beforeAll(async () => {
  sim = await startCluster({ nodes: [{ address: NODE, version: "v1.14.0" }] });
  client = TalosClient.connect(sim.clientOptions());
});

afterAll(async () => {
  client?.close();
  await sim?.close();
});

it("lets many concurrent calls share one signal without Node's leak warning", async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on("warning", onWarning);
  try {
    const signal = new AbortController().signal;
    await Promise.all([
      ...Array.from({ length: 30 }, () => client.at(NODE).machine.version({}, { signal })),
      ...Array.from({ length: 10 }, () =>
        client.resources.list("Versions.runtime.talos.dev", { node: NODE, signal }),
      ),
    ]);
    await new Promise((r) => setImmediate(r)); // warnings are emitted on a later tick
  } finally {
    process.off("warning", onWarning);
  }
  expect(warnings).not.toContain("MaxListenersExceededWarning");
});
