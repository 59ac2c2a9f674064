// The client against the simulated cluster: every service family, fan-out,
// every stream kind, reconnects and maintenance mode, over real TLS sockets.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectionError, TalosClient, type TalosError } from "../src/index.js";
import { type ClusterSimulator, type SimWithClients, startSimWithClients } from "./helpers/sim.js";

let env: SimWithClients<"admin">;
let sim: ClusterSimulator;
let admin: TalosClient;
let dir: string;

beforeAll(async () => {
  env = await startSimWithClients(
    {
      largeFileSize: 8 * 1024 * 1024,
      nodes: [
        {
          address: "10.5.0.2",
          role: "controlplane",
          version: "v1.14.0",
          profile: "nvidia-hgx-server",
        },
        { address: "10.5.0.3", role: "worker", version: "v1.13.9", profile: "intel-nuc" },
        { address: "10.5.0.9", maintenance: true, profile: "proxmox-vm" },
      ],
    },
    { admin: { roles: ["os:admin"], nodes: ["10.5.0.2", "10.5.0.3"] } },
  );
  ({ sim, dir } = env);
  admin = env.clients.admin;
});
afterAll(async () => {
  await env?.close();
});

describe("service families", () => {
  const cp = { node: "10.5.0.2" };
  it("machine, time, storage, cluster, inspect, image, cosi", async () => {
    expect((await admin.at("10.5.0.2").machine.version({})).messages[0]?.version?.tag).toBe(
      "v1.14.0",
    );
    expect((await admin.at("10.5.0.2").machine.hostname({})).messages[0]?.hostname).toBeTruthy();
    const settled = await Promise.allSettled([
      admin.at("10.5.0.2").time.time({}),
      admin.at("10.5.0.2").storage.disks({}),
      admin.at("10.5.0.2").inspect.controllerRuntimeDependencies({}),
      admin.at("10.5.0.2").image.list({})[Symbol.asyncIterator]().next(),
      admin.at("10.5.0.2").cluster.healthCheck({})[Symbol.asyncIterator]().next(),
      admin.at("10.5.0.2").machine.serviceList({}),
    ]);
    // The simulator does not serve every family yet: each call must reach the
    // node and come back as a value or as the node's own typed answer.
    const names = ["time", "storage", "inspect", "image", "cluster", "machine"];
    settled.forEach((s, i) => {
      if (s.status === "fulfilled") return;
      const err = s.reason as TalosError & { nodeVersion?: string };
      expect(err.code, names[i]).toBe("UNIMPLEMENTED");
      expect(err.nodeVersion, names[i]).toBe("v1.14.0");
    });
    expect(settled[3]?.status).toBe("fulfilled");
    expect(settled[5]?.status).toBe("fulfilled");
  });

  it("lvm and md: available on v1.14, Unimplemented with the reason on v1.13", async () => {
    const err = await admin
      .at("10.5.0.3")
      .lvm.volumeGroupRemove({ volumeGroup: "vg0" })
      .catch((e) => e);
    expect(err.code).toBe("UNIMPLEMENTED");
    expect(err.message).toMatch(/Talos v1\.13\.9.*added in Talos v1\.14/);
  });

  it("resources: get, list and watch with talosctl names; typed specs", async () => {
    const list = await admin.resources.list("pcidevices", cp);
    expect(list.length).toBeGreaterThan(0);
    expect(list[0]?.metadata.type).toBe("PCIDevices.hardware.talos.dev");
    expect(list[0]?.specSource).toBe("proto");
    expect((list[0]?.typedSpec as { vendorId?: string } | undefined)?.vendorId).toBeTruthy();
    const one = await admin.resources.get(
      "PCIDevices.hardware.talos.dev",
      list[0]?.metadata.id ?? "",
      cp,
    );
    expect(one.metadata.id).toBe(list[0]?.metadata.id);
    const version = await admin.resources.get("versions", "version", { node: "10.5.0.3" });
    expect(version.spec).toMatchObject({ version: "v1.13.9" });
    const events = [];
    for await (const ev of admin.resources.watch("machinestatuses", cp)) {
      events.push(ev);
      break;
    }
    expect(events[0]?.resource?.metadata.id).toBe("machine");
  });
});

describe("fan-out", () => {
  it("one result per node, values and typed errors mixed", async () => {
    sim.faults.unreachable("10.5.0.3", true);
    try {
      const results = await admin.onNodes(
        ["10.5.0.2", "10.5.0.3", "10.9.9.9"],
        (node, signal) => admin.at(node).machine.version({}, { signal }),
        { concurrency: 2 },
      );
      expect(results.map((r) => r.node)).toEqual(["10.5.0.2", "10.5.0.3", "10.9.9.9"]);
      const [ok, down, unknown] = results as [
        (typeof results)[0],
        (typeof results)[0],
        (typeof results)[0],
      ];
      expect("value" in ok && ok.value.messages[0]?.version?.tag).toBe("v1.14.0");
      expect("error" in down && down.error.code).toBe("UNAVAILABLE");
      expect("error" in down && down.error.node).toBe("10.5.0.3");
      expect("error" in unknown).toBe(true);
    } finally {
      sim.faults.unreachable("10.5.0.3", false);
    }
  });
});

describe("streams", () => {
  const cp = { node: "10.5.0.2" };
  it("read, copy, kubeconfig, etcd snapshot, logs, dmesg as byte streams", async () => {
    expect((await admin.streams.read("/sim/large", cp).bytes()).length).toBe(8 * 1024 * 1024);
    const tar = await admin.streams.copy("/etc", cp).bytes();
    expect(tar[0]).toBe(0x1f); // gzip
    expect((await admin.streams.kubeconfig(cp).bytes()).length).toBeGreaterThan(0);
    expect((await admin.streams.etcdSnapshot(cp).bytes()).length).toBeGreaterThan(0);
    expect(await admin.streams.dmesg({}, cp).text()).not.toBe("");
    // The simulated node logs each service's start; the stream carries its lines as written.
    expect(
      await admin.streams.logs({ namespace: "system", id: "kubelet", tailLines: -1 }, cp).text(),
    ).toContain("kubelet started\n");
  });

  it("events with payloads decoded from talos/runtime/ Any", async () => {
    let seen = 0;
    for await (const ev of admin.streams.events({ tailEvents: 5 }, cp)) {
      expect(ev.type).toMatch(/^machine\./);
      expect(ev.payload).toBeDefined();
      if (++seen === 2) break;
    }
    expect(seen).toBe(2);
  });

  it("a dropped stream fails typed, and the next call reconnects", async () => {
    sim.faults.dropStreams("10.5.0.2", 1024 * 1024);
    const err = await admin.streams
      .read("/sim/large", cp)
      .bytes()
      .catch((e) => e);
    sim.faults.dropStreams("10.5.0.2", null);
    expect(err.code).toBe("UNAVAILABLE");
    expect(err.node).toBe("10.5.0.2");
    expect((await admin.at("10.5.0.2").machine.version({})).messages).toHaveLength(1);
  });
});

describe("bad server certificates", () => {
  it("wrong CA and expired certificate are typed errors", async () => {
    const path = join(dir, "reader");
    await writeFile(path, sim.talosconfig({ roles: ["os:reader"] }));
    await sim.faults.wrongCertificate(true);
    let c = await TalosClient.fromTalosconfig({ path });
    let err = await c.machine.version({}, {}).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err.code).toBe("TLS_UNTRUSTED_SERVER");
    c.close();
    await sim.faults.wrongCertificate(false);
    await sim.faults.expiredServerCertificate(true);
    c = await TalosClient.fromTalosconfig({ path });
    err = await c.machine.version({}, {}).catch((e) => e);
    expect(err.code).toBe("TLS_CERT_EXPIRED");
    c.close();
    await sim.faults.expiredServerCertificate(false);
  });
});

describe("maintenance mode", () => {
  it("pins the SPKI fingerprint and reads non-sensitive resources", async () => {
    const node = sim.node("10.5.0.9");
    const c = TalosClient.maintenance({
      endpoint: node.endpoint,
      fingerprints: [node.maintenanceFingerprint ?? ""],
    });
    const devices = await c.resources.list("pcidevices");
    expect(devices.length).toBeGreaterThan(0);
    c.close();
    const bad = TalosClient.maintenance({ endpoint: node.endpoint, fingerprints: ["AAAA"] });
    expect((await bad.machine.version({}, {}).catch((e) => e)).code).toBe(
      "TLS_FINGERPRINT_MISMATCH",
    );
    bad.close();
  });
});
