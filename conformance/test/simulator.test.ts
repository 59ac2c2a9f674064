// The simulator stands in for a node in every client test, so the machine config
// it serves must be one that the node's own Talos release accepts: read over the
// API from a simulated cluster of every supported version and both roles, then
// loaded and validated by that version's machinery.

import { TalosClient } from "@taloskit/client";
import { startCluster } from "@taloskit/testing";
import { readMachineConfig, validateConfig } from "taloskit";
import { afterAll, expect, it } from "vitest";
import { closeOracles, machinery, ORACLE_VERSIONS } from "../oracles.js";

afterAll(closeOracles);

it.each(ORACLE_VERSIONS)("a simulated Talos %s node serves a config Talos accepts", async (v) => {
  const nodes = [
    { address: "10.5.0.2", role: "controlplane" as const, version: `v${v}.0` },
    { address: "10.5.0.3", role: "worker" as const, version: `v${v}.0` },
  ];
  const sim = await startCluster({ nodes });
  const client = TalosClient.connect(sim.clientOptions({ roles: ["os:admin"] }));
  try {
    for (const { address } of nodes) {
      const { text } = await readMachineConfig(client, { node: address });
      const verdict = await machinery(v).validate(text);
      expect(verdict.ok, `${address} (${v}): ${verdict.error}`).toBe(true);
      expect(validateConfig(text, v).valid).toBe(true);
    }
  } finally {
    client.close();
    await sim.close();
  }
});
