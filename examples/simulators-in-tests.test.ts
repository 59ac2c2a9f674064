// Use the simulators in your own tests: a Talos cluster over real gRPC and mutual TLS,
// and an Image Factory over real HTTP, both on loopback and gone when the test ends.
// Your code under test talks to them exactly as it would to real machines.
import { TalosClient, talosContext } from "@taloskit/client";
import { FactoryClient, schematic } from "@taloskit/factory";
import { type ClusterSimulator, startCluster, startFactoryServer } from "@taloskit/testing";
import { afterAll, beforeAll, expect, test } from "vitest";

let cluster: ClusterSimulator;
let client: TalosClient;

beforeAll(async () => {
  cluster = await startCluster({
    nodes: [
      { address: "10.5.0.2", role: "controlplane", profile: "nvidia-hgx-server" },
      { address: "10.5.0.3", role: "worker", profile: "raspberry-pi-5", version: "v1.13.2" },
    ],
  });
  // A client certificate with the os:reader role, as an operator's read-only config would have.
  client = TalosClient.connect(cluster.clientOptions({ roles: ["os:reader"] }));
});

afterAll(async () => {
  client?.close();
  await cluster?.close();
});

test("each node reports its own version and hardware", async () => {
  const reply = await client.at("10.5.0.3").machine.version({});
  expect(reply.messages[0]?.version?.tag).toBe("v1.13.2");
  const devices = await client.resources.list("pcidevices", { node: "10.5.0.2" });
  expect(devices.some((d) => JSON.stringify(d.spec).includes("NVIDIA"))).toBe(true);
});

test("faults make failure paths testable", async () => {
  cluster.faults.unreachable("10.5.0.3");
  try {
    await expect(
      client.at("10.5.0.3").machine.version({}, { contextValues: talosContext({ retry: false }) }),
    ).rejects.toMatchObject({ node: "10.5.0.3" });
  } finally {
    cluster.faults.unreachable("10.5.0.3", false);
  }
});

test("the factory simulator answers like the real one", async () => {
  const factory = await startFactoryServer();
  try {
    const client = new FactoryClient({ baseUrl: factory.url });
    const created = await client.createSchematic(schematic().extensions("iscsi-tools").build());
    expect(created.id).toMatch(/^[0-9a-f]{64}$/);
  } finally {
    await factory.close();
  }
});
