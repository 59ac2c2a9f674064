import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { State } from "@taloskit/api/cosi";
import {
  ImageService,
  LifecycleService,
  MachineEventSchema,
  MachineService,
} from "@taloskit/api/machine";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClusterSimulator, spkiFingerprint, startCluster } from "../src/index.js";
import { makeClient, md, stream, unary } from "./helpers.js";

let sim: ClusterSimulator;
let admin: grpc.Client;
const NEW_SCHEMATIC = "b".repeat(64);

beforeAll(async () => {
  sim = await startCluster({
    rebootDelayMs: 100,
    largeFileSize: 8 * 1024 * 1024,
    nodes: [
      { address: "10.5.0.2", role: "controlplane", profile: "proxmox-vm", version: "v1.13.9" },
      { address: "10.5.0.3", role: "worker", profile: "intel-nuc", version: "v1.12.11" },
      { address: "10.5.0.9", profile: "vmware-vm", maintenance: true },
    ],
  });
  admin = makeClient(sim.endpoint, sim.pki);
});
afterAll(async () => {
  admin.close();
  await sim.close();
});

type Data = { bytes: Uint8Array };
type Res = {
  resource?: { metadata?: { id: string; version: string }; spec?: { yamlSpec: string } };
};

describe("streams", () => {
  it("reads a large synthetic file through the router", async () => {
    const chunks = await stream<Data>(
      admin,
      MachineService.method.read,
      { path: "/sim/large" },
      md("10.5.0.3"),
    );
    expect(chunks.reduce((a, c) => a + c.bytes.length, 0)).toBe(8 * 1024 * 1024);
  });

  it("drops a stream mid-way with Unavailable", async () => {
    sim.faults.dropStreams("10.5.0.3", 200_000);
    await expect(
      stream(admin, MachineService.method.read, { path: "/sim/large" }, md("10.5.0.3")),
    ).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    sim.faults.dropStreams("10.5.0.3", null);
  });

  it("uploads a client stream (EtcdRecover) through the router", async () => {
    const res = await new Promise<Buffer>((resolve, reject) => {
      const call = admin.makeClientStreamRequest(
        "/machine.MachineService/EtcdRecover",
        (b: Buffer) => b,
        (b: Buffer) => b,
        md("10.5.0.2"),
        (err, r) => (err ? reject(err) : resolve(r as Buffer)),
      );
      const { CommonDataSchema } = { CommonDataSchema: MachineService.method.etcdRecover.input };
      for (let i = 0; i < 4; i++)
        call.write(
          Buffer.from(
            toBinary(CommonDataSchema, create(CommonDataSchema, { bytes: new Uint8Array(1000) })),
          ),
        );
      call.end();
    });
    expect(res).toBeInstanceOf(Buffer);
  });
});

describe("faults", () => {
  it("makes a node unreachable", async () => {
    sim.faults.unreachable("10.5.0.3");
    await expect(
      unary(admin, MachineService.method.version, {}, md("10.5.0.3")),
    ).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    sim.faults.unreachable("10.5.0.3", false);
    await expect(
      unary(admin, MachineService.method.version, {}, md("10.5.0.3")),
    ).resolves.toBeDefined();
  });

  it("presents a certificate from another CA", async () => {
    await sim.faults.wrongCertificate(true);
    const c = makeClient(sim.endpoint, sim.pki);
    await expect(unary(c, MachineService.method.version, {})).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });
    c.close();
    await sim.faults.wrongCertificate(false);
    const c2 = makeClient(sim.endpoint, sim.pki);
    await expect(unary(c2, MachineService.method.version, {})).resolves.toBeDefined();
    c2.close();
  });

  it("delays calls", async () => {
    sim.faults.delay("10.5.0.3", 150);
    const t = Date.now();
    await unary(admin, MachineService.method.hostname, {}, md("10.5.0.3"));
    expect(Date.now() - t).toBeGreaterThanOrEqual(140);
    sim.faults.delay("10.5.0.3", 0);
  });
});

describe("versions, roles and resources", () => {
  it("answers Unimplemented for ImageService on v1.12", async () => {
    await expect(
      stream(admin, ImageService.method.pull, { imageRef: "x" }, md("10.5.0.3")),
    ).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
  });

  it("keeps MachineConfigs admin-only and refuses COSI writes", async () => {
    const reader = makeClient(sim.endpoint, sim.pki, ["os:reader"]);
    const get = { namespace: "config", type: "MachineConfigs.config.talos.dev", id: "v1alpha1" };
    await expect(unary(reader, State.method.get, get)).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
    });
    const r = await unary<Res>(admin, State.method.get, get);
    expect(r.resource?.spec?.yamlSpec).toContain("version: v1alpha1");
    await expect(unary(admin, State.method.destroy, get)).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
    });
    reader.close();
  });

  it("lists resource definitions with aliases", async () => {
    const rds = await stream<Res>(admin, State.method.list, {
      namespace: "meta",
      type: "ResourceDefinitions.meta.cosi.dev",
    });
    const pci = rds.find((r) => r.resource?.metadata?.id === "pcidevices.hardware.talos.dev");
    expect(pci?.resource?.spec?.yamlSpec).toContain("pcidevice");
    // CPUCores exist only on 1.14+
    expect(rds.some((r) => r.resource?.metadata?.id === "cpucores.hardware.talos.dev")).toBe(false);
  });

  it("watches a resource and sees updates", async () => {
    const call = admin.makeServerStreamRequest(
      "/cosi.resource.State/Watch",
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(
        toBinary(
          State.method.watch.input,
          create(State.method.watch.input, {
            namespace: "runtime",
            type: "MachineStatuses.runtime.talos.dev",
            id: "machine",
            apiVersion: 1,
          }),
        ),
      ),
      md("10.5.0.2"),
    );
    const events: number[] = [];
    call.on("error", () => undefined);
    const done = new Promise<void>((resolve) => {
      call.on("data", (b: Buffer) => {
        // The first response is COSI's empty "watch is ready" message (-1 here).
        events.push(fromBinary(State.method.watch.output, b).event[0]?.eventType ?? -1);
        if (events.length === 2) {
          const n = sim.node("10.5.0.2");
          n.state.ready = false;
          n.touch();
        }
        if (events.length === 3) resolve();
      });
    });
    await done;
    call.cancel();
    sim.node("10.5.0.2").state.ready = true;
    sim.node("10.5.0.2").touch();
    expect(events).toEqual([-1, 0, 1]); // ready, CREATED, then UPDATED
  });
});

describe("more faults", () => {
  it("presents an expired server certificate", async () => {
    await sim.faults.expiredServerCertificate(true);
    const c = makeClient(sim.endpoint, sim.pki);
    await expect(unary(c, MachineService.method.version, {})).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });
    c.close();
    await sim.faults.expiredServerCertificate(false);
  });

  it("fails the installer with a non-zero exit code and refuses a legacy upgrade with unhealthy etcd", async () => {
    sim.faults.installerExitCode("10.5.0.2", 7);
    const image = `factory.talos.dev/metal-installer/${"c".repeat(64)}:v1.14.1`;
    await stream(admin, ImageService.method.pull, { imageRef: image }, md("10.5.0.2"));
    const progress = await stream<{ progress?: { response: { case?: string; value?: unknown } } }>(
      admin,
      LifecycleService.method.upgrade,
      { source: { imageName: image } },
      md("10.5.0.2"),
    );
    expect(progress.at(-1)?.progress?.response).toEqual({ case: "exitCode", value: 7 });
    sim.faults.installerExitCode("10.5.0.2", 0);
    sim.faults.etcdUnhealthy("10.5.0.2");
    await expect(
      unary(admin, MachineService.method.upgrade, { image }, md("10.5.0.2")),
    ).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
    await expect(
      unary(admin, MachineService.method.etcdStatus, {}, md("10.5.0.2")),
    ).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    sim.faults.etcdUnhealthy("10.5.0.2", false);
  });
});

describe("maintenance mode", () => {
  it("accepts a client without a certificate, pinned by SPKI fingerprint", async () => {
    const n = sim.node("10.5.0.9");
    expect(n.maintenanceFingerprint).toBeTruthy();
    const client = new grpc.Client(
      n.endpoint,
      grpc.credentials.createSsl(null, null, null, {
        checkServerIdentity: (_host, cert) =>
          spkiFingerprint(
            `-----BEGIN CERTIFICATE-----\n${cert.raw.toString("base64")}\n-----END CERTIFICATE-----\n`,
          ) === n.maintenanceFingerprint
            ? undefined
            : new Error("fingerprint mismatch"),
        rejectUnauthorized: false,
      } as grpc.VerifyOptions),
      { "grpc.ssl_target_name_override": "localhost" },
    );
    const v = await unary<{ messages: { version?: { tag: string } }[] }>(
      client,
      MachineService.method.version,
      {},
    );
    expect(v.messages[0]?.version?.tag).toBe("v1.14.0");
    await expect(unary(client, MachineService.method.reboot, {})).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
    });
    const applied = await unary<{ messages: unknown[] }>(
      client,
      MachineService.method.applyConfiguration,
      { data: new TextEncoder().encode("version: v1alpha1\nmachine:\n  type: worker\n") },
    );
    expect(applied.messages).toHaveLength(1);
    client.close();
  });
});

describe("upgrade", () => {
  it("pulls, upgrades, reboots and comes back with a new version, schematic and boot ID", async () => {
    const n = sim.node("10.5.0.2");
    const bootBefore = n.state.bootId;
    const image = `factory.talos.dev/metal-installer/${NEW_SCHEMATIC}:v1.14.0`;
    const pulled = await stream<{ response: { case?: string } }>(
      admin,
      ImageService.method.pull,
      { imageRef: image },
      md("10.5.0.2"),
    );
    expect(pulled.at(-1)?.response.case).toBe("name");
    const progress = await stream<{ progress?: { response: { case?: string; value?: unknown } } }>(
      admin,
      LifecycleService.method.upgrade,
      { source: { imageName: image } },
      md("10.5.0.2"),
    );
    expect(progress.at(-1)?.progress?.response).toEqual({ case: "exitCode", value: 0 });

    const events = admin.makeServerStreamRequest(
      "/machine.MachineService/Events",
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(
        toBinary(
          MachineService.method.events.input,
          create(MachineService.method.events.input, { tailEvents: 0 }),
        ),
      ),
      md("10.5.0.2"),
    );
    const types: string[] = [];
    const ended = new Promise<grpc.ServiceError | undefined>((resolve) => {
      events.on("data", (b: Buffer) => {
        types.push(fromBinary(MachineEventSchema, b).data?.typeUrl ?? "");
      });
      events.on("error", (e: grpc.ServiceError) => resolve(e));
      events.on("end", () => resolve(undefined));
    });
    const r = await unary<{ messages: { actorId: string }[] }>(
      admin,
      MachineService.method.reboot,
      {},
      md("10.5.0.2"),
    );
    expect(r.messages[0]?.actorId).toBeTruthy();
    const err = await ended;
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(types[0]).toBe(""); // the empty hello event
    expect(types).toContain("talos/runtime/machine.SequenceEvent");
    expect(types).toContain("talos/runtime/machine.MachineStatusEvent");
    // wait for the node to come back
    for (let i = 0; i < 50 && n.down; i++) await new Promise((r2) => setTimeout(r2, 20));
    const v = await unary<{ messages: { version?: { tag: string } }[] }>(
      admin,
      MachineService.method.version,
      {},
      md("10.5.0.2"),
    );
    expect(v.messages[0]?.version?.tag).toBe("v1.14.0");
    expect(n.state.schematic).toBe(NEW_SCHEMATIC);
    expect(n.state.bootId).not.toBe(bootBefore);
  });
});
