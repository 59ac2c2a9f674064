import { X509Certificate } from "node:crypto";
import { fromBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { ListRequestSchema, State } from "@taloskit/api/cosi";
import { MachineService } from "@taloskit/api/machine";
import { PCIDeviceSpecSchema } from "@taloskit/api/resources/hardware";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type ClusterSimulator, startCluster } from "../src/index.js";
import { makeClient, md, stream, unary } from "./helpers.js";

let sim: ClusterSimulator;
beforeAll(async () => {
  sim = await startCluster({
    nodes: [
      {
        address: "10.5.0.2",
        role: "controlplane",
        profile: "nvidia-hgx-server",
        version: "v1.14.0",
        schematic: "a".repeat(64),
      },
      { address: "10.5.0.3", role: "worker", profile: "raspberry-pi-5", version: "v1.12.11" },
    ],
  });
});
afterAll(async () => {
  await sim.close();
});

describe("PKI", () => {
  it("issues Talos-style Ed25519 client certs with roles in Organization", () => {
    const c = sim.pki.issueClient({ roles: ["os:reader", "os:operator"] });
    expect(c.keyPem).toContain("BEGIN ED25519 PRIVATE KEY");
    const x = new X509Certificate(c.certPem);
    expect(x.subject).toContain("O=os:reader");
    expect(x.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
    expect(x.checkIssued(new X509Certificate(sim.pki.ca.certPem))).toBe(true);
    expect(new X509Certificate(sim.pki.ca.certPem).subject).toBe("O=talos");
  });
});

describe("clientOptions", () => {
  it("gives the router endpoint, the cluster CA and a fresh certificate with the roles asked for", () => {
    const admin = sim.clientOptions();
    expect(Object.keys(admin).sort()).toEqual(["ca", "cert", "endpoints", "key"]);
    expect(admin.endpoints).toEqual([sim.endpoint]);
    expect(admin.ca).toBe(sim.pki.ca.certPem);
    expect(admin.key).toContain("BEGIN ED25519 PRIVATE KEY");
    const x = new X509Certificate(admin.cert);
    expect(x.subject).toBe("O=os:admin");
    expect(x.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
    expect(x.checkIssued(new X509Certificate(sim.pki.ca.certPem))).toBe(true);
    expect(sim.clientOptions().cert).not.toBe(admin.cert);

    const nodes = ["10.5.0.3"];
    const reader = sim.clientOptions({ roles: ["os:reader"], nodes, keyLabel: "PRIVATE KEY" });
    expect(new X509Certificate(reader.cert).subject).toBe("O=os:reader");
    expect(reader.key).toContain("BEGIN PRIVATE KEY");
    expect(reader.nodes).toEqual(["10.5.0.3"]);
    nodes.push("10.5.0.2");
    expect(reader.nodes).toEqual(["10.5.0.3"]);
  });

  it("are accepted by the router, which enforces their roles", async () => {
    const o = sim.clientOptions({ roles: ["os:reader"], keyLabel: "PRIVATE KEY" });
    const client = new grpc.Client(
      o.endpoints[0] ?? "",
      grpc.credentials.createSsl(Buffer.from(o.ca), Buffer.from(o.key), Buffer.from(o.cert)),
      { "grpc.ssl_target_name_override": "localhost" },
    );
    const v = (await unary(client, MachineService.method.version, {}, md("10.5.0.3"))) as {
      messages: { version?: { tag: string } }[];
    };
    expect(v.messages[0]?.version?.tag).toBe("v1.12.11");
    await expect(unary(client, MachineService.method.reboot, {})).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
    });
    client.close();
  });
});

describe("router and nodes", () => {
  it("serves Version locally and routes by node metadata", async () => {
    const client = makeClient(sim.endpoint, sim.pki);
    const local = (await unary(client, MachineService.method.version, {})) as {
      messages: { version?: { tag: string } }[];
    };
    expect(local.messages[0]?.version?.tag).toBe("v1.14.0");
    const routed = (await unary(client, MachineService.method.version, {}, md("10.5.0.3"))) as {
      messages: { version?: { tag: string; arch: string } }[];
    };
    expect(routed.messages[0]?.version?.tag).toBe("v1.12.11");
    expect(routed.messages[0]?.version?.arch).toBe("arm64");
    client.close();
  });

  it("lists hardware resources with proto and yaml specs", async () => {
    const client = makeClient(sim.endpoint, sim.pki, ["os:reader"]);
    const res = (await stream(
      client,
      State.method.list,
      { namespace: "hardware", type: "PCIDevices.hardware.talos.dev" },
      md("10.5.0.2"),
    )) as {
      resource?: { metadata?: { id: string }; spec?: { protoSpec: Uint8Array; yamlSpec: string } };
    }[];
    const h100 = res.filter(
      (r) =>
        fromBinary(PCIDeviceSpecSchema, r.resource?.spec?.protoSpec ?? new Uint8Array())
          .productId === "0x2330",
    );
    expect(h100).toHaveLength(8);
    expect(parse(h100[0]?.resource?.spec?.yamlSpec ?? "")).toMatchObject({
      vendor_id: "0x10de",
      product_id: "0x2330",
      driver: "nvidia",
    });
    void ListRequestSchema;
    client.close();
  });

  it("enforces roles", async () => {
    const client = makeClient(sim.endpoint, sim.pki, ["os:reader"]);
    await expect(unary(client, MachineService.method.reboot, {})).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
    });
    client.close();
  });
});
