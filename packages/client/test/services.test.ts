// Every service family of the Talos API through TalosClient against the
// simulated cluster, over real TLS: time, storage, inspect, cluster health,
// debug containers, LVM and MD; answers, typed errors and role checks.
import { DependencyEdgeType } from "@taloskit/api/inspect";
import type { DebugContainerRunRequest } from "@taloskit/api/machine";
import { Disk_DiskType } from "@taloskit/api/storage";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PermissionDeniedError, TalosClient, TalosError, talosContext } from "../src/index.js";
import { type ClusterSimulator, type SimWithClients, startSimWithClients } from "./helpers/sim.js";

const CP = "10.5.0.2";
const WORKER = "10.5.0.3";
const OLD = "10.5.0.4";
const MAINT = "10.5.0.9";
let env: SimWithClients<"admin" | "reader">;
let sim: ClusterSimulator;
let admin: TalosClient;
let reader: TalosClient;

beforeAll(async () => {
  env = await startSimWithClients(
    {
      nodes: [
        { address: CP, role: "controlplane", version: "v1.14.0", profile: "nvidia-hgx-server" },
        { address: WORKER, role: "worker", version: "v1.14.0", profile: "proxmox-vm" },
        { address: OLD, role: "worker", version: "v1.13.9", profile: "intel-nuc" },
        { address: MAINT, maintenance: true, version: "v1.14.0", profile: "vmware-vm" },
      ],
    },
    { admin: { roles: ["os:admin"] }, reader: { roles: ["os:reader"] } },
  );
  ({ sim } = env);
  ({ admin, reader } = env.clients);
});
afterEach(() => {
  for (const n of [CP, WORKER, OLD]) {
    sim.faults.unreachable(n, false);
    sim.faults.etcdUnhealthy(n, false);
  }
});
afterAll(async () => {
  await env?.close();
});

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => e as TalosError,
  );

describe("time", () => {
  it("Time and TimeCheck report the server and both clocks", async () => {
    const t = (await reader.at(WORKER).time.time({})).messages[0];
    expect(t?.server).toBe("time.cloudflare.com");
    expect(t?.localtime?.seconds).toBeGreaterThan(0n);
    expect(t?.remotetime?.seconds).toBeGreaterThan(0n);
    const c = (await reader.at(WORKER).time.timeCheck({ server: "pool.ntp.org" })).messages[0];
    expect(c?.server).toBe("pool.ntp.org");
  });

  it("an unknown time server fails with a typed error naming it", async () => {
    const err = await failure(
      admin
        .at(CP)
        .time.timeCheck(
          { server: "ntp.invalid" },
          { contextValues: talosContext({ retry: false }) },
        ),
    );
    expect(err).toBeInstanceOf(TalosError);
    expect(err.code).toBe("INTERNAL");
    expect(err.node).toBe(CP);
    expect(err.message).toMatch(/time\.TimeService\/TimeCheck on node 10\.5\.0\.2.*ntp\.invalid/);
  });
});

describe("storage", () => {
  it("Disks lists the machine's disks, the install disk marked", async () => {
    const disks = (await reader.at(CP).storage.disks({})).messages[0]?.disks ?? [];
    expect(disks.map((d) => d.deviceName)).toEqual(["/dev/nvme0n1"]);
    expect(disks[0]).toMatchObject({ type: Disk_DiskType.NVME, systemDisk: true });
    expect(disks[0]?.size).toBeGreaterThan(1_000_000_000_000n);
    const vm = (await reader.at(WORKER).storage.disks({})).messages[0]?.disks ?? [];
    expect(vm[0]).toMatchObject({ name: "sda", type: Disk_DiskType.HDD });
  });

  it("BlockDeviceWipe: admin only on a configured node, refuses the disk in use, names unknown disks", async () => {
    const denied = await failure(
      reader.at(WORKER).storage.blockDeviceWipe({ devices: [{ device: "/dev/sda" }] }),
    );
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect((denied as PermissionDeniedError).requiredRoles).toEqual(["os:admin"]);
    const inUse = await failure(
      admin.at(WORKER).storage.blockDeviceWipe({ devices: [{ device: "/dev/sda" }] }),
    );
    expect(inUse.code).toBe("FAILED_PRECONDITION");
    expect(inUse.message).toMatch(/\/dev\/sda.*in use/);
    const unknown = await failure(
      admin.at(WORKER).storage.blockDeviceWipe({ devices: [{ device: "/dev/sdz" }] }),
    );
    expect(unknown.code).toBe("NOT_FOUND");
    expect(unknown.message).toMatch(/\/dev\/sdz/);
    const none = await failure(admin.at(WORKER).storage.blockDeviceWipe({ devices: [] }));
    expect(none.code).toBe("INVALID_ARGUMENT");
    await admin
      .at(WORKER)
      .storage.blockDeviceWipe({ devices: [{ device: "/dev/sda", skipVolumeCheck: true }] });
  });

  it("BlockDeviceWipe and Disks work in maintenance mode with the reader role", async () => {
    const fp = sim.node(MAINT).maintenanceFingerprint ?? "";
    const m = TalosClient.maintenance({ endpoint: sim.node(MAINT).endpoint, fingerprints: [fp] });
    try {
      const disks = (await m.storage.disks({})).messages[0]?.disks ?? [];
      expect(disks[0]).toMatchObject({ name: "sda", systemDisk: false });
      await m.storage.blockDeviceWipe({ devices: [{ device: "sda" }] });
    } finally {
      m.close();
    }
  });
});

describe("inspect", () => {
  it("ControllerRuntimeDependencies names the controllers and the resources they produce", async () => {
    const edges =
      (await reader.at(CP).inspect.controllerRuntimeDependencies({})).messages[0]?.edges ?? [];
    const pci = edges.find((e) => e.resourceType === "PCIDevices.hardware.talos.dev");
    expect(pci).toMatchObject({
      edgeType: DependencyEdgeType.OUTPUT_EXCLUSIVE,
      resourceNamespace: "hardware",
    });
    expect(pci?.controllerName).toMatch(/Controller$/);
    expect(
      edges.some(
        (e) =>
          e.controllerName === pci?.controllerName && e.edgeType === DependencyEdgeType.INPUT_WEAK,
      ),
    ).toBe(true);
  });
});

describe("cluster health", () => {
  const seconds = (s: number) => ({ seconds: BigInt(Math.floor(s)), nanos: (s % 1) * 1e9 });

  it("a healthy cluster passes every check, reported step by step", async () => {
    const messages: string[] = [];
    for await (const p of reader.at(CP).cluster.healthCheck({ waitTimeout: seconds(30) }))
      messages.push(p.message);
    expect(messages[0]).toBe(`discovered nodes: ["${CP}","${WORKER}","${OLD}"]`);
    for (const check of ["etcd to be healthy", "apid to be ready", "all nodes memory sizes"])
      expect(messages).toContain(`waiting for ${check}: OK`);
    expect(messages.at(-1)).toBe("waiting for all nodes to finish boot sequence: OK");
  });

  it("a node that stays down fails the check with its address", async () => {
    sim.faults.unreachable(WORKER, true);
    const messages: string[] = [];
    const err = await failure(
      (async () => {
        for await (const p of admin.at(CP).cluster.healthCheck({
          waitTimeout: seconds(0.05),
          clusterInfo: { controlPlaneNodes: [CP], workerNodes: [WORKER] },
        }))
          messages.push(p.message);
      })(),
    );
    expect(err.code).toBe("DEADLINE_EXCEEDED");
    expect(err.node).toBe(CP);
    expect(err.message).toMatch(/apid to be ready: 10\.5\.0\.3: .*Unavailable/);
    expect(messages).toContain("waiting for etcd to be healthy: OK");
    expect(messages.some((m) => m.startsWith("waiting for apid to be ready: 10.5.0.3"))).toBe(true);
  });

  it("unhealthy etcd fails the first check", async () => {
    sim.faults.etcdUnhealthy(CP, true);
    const err = await failure(
      (async () => {
        for await (const _ of admin.at(CP).cluster.healthCheck({ waitTimeout: seconds(0.05) }));
      })(),
    );
    expect(err.code).toBe("DEADLINE_EXCEEDED");
    expect(err.message).toMatch(/etcd to be healthy: 10\.5\.0\.2: service "etcd" not healthy/);
  });

  it("waits for a node that comes back within the wait timeout", async () => {
    sim.faults.unreachable(WORKER, true);
    const messages: string[] = [];
    for await (const p of admin.at(CP).cluster.healthCheck({ waitTimeout: seconds(60) })) {
      messages.push(p.message);
      if (p.message.startsWith("waiting for apid to be ready: 10.5.0.3"))
        sim.faults.unreachable(WORKER, false);
    }
    expect(messages).toContain("waiting for apid to be ready: OK");
    expect(messages.at(-1)).toBe("waiting for all nodes to finish boot sequence: OK");
  });

  it("runs on control-plane nodes only", async () => {
    const err = await failure(
      (async () => {
        for await (const _ of admin.at(WORKER).cluster.healthCheck({}));
      })(),
    );
    expect(err.code).toBe("FAILED_PRECONDITION");
    expect(err.message).toMatch(/control plane node/);
  });
});

describe("debug containers", () => {
  const IMAGE = "ghcr.io/siderolabs/debug-tools:v1";
  beforeAll(async () => {
    for await (const _ of admin.at(WORKER).image.pull({ imageRef: IMAGE }));
  });

  type Req = Omit<DebugContainerRunRequest, "$typeName">;
  async function run(requests: Req[], client = admin, node = WORKER) {
    let stdout = "";
    let exitCode: number | undefined;
    for await (const r of client.at(node).debug.containerRun(
      (async function* () {
        yield* requests;
      })(),
    )) {
      if (r.resp.case === "stdoutData") stdout += Buffer.from(r.resp.value).toString();
      if (r.resp.case === "exitCode") exitCode = r.resp.value;
    }
    return { stdout, exitCode };
  }
  const spec = (args: string[], imageName = IMAGE): Req => ({
    request: { case: "spec", value: { imageName, args } as never },
  });

  it("runs a command and reports its output and exit code", async () => {
    expect(await run([spec(["echo", "hello", "talos"])])).toEqual({
      stdout: "hello talos\n",
      exitCode: 0,
    });
    expect((await run([spec(["exit", "3"])])).exitCode).toBe(3);
  });

  it("streams stdin to the container both ways", async () => {
    const stdin = (text: string): Req => ({
      request: { case: "stdinData", value: Buffer.from(text) },
    });
    expect(await run([spec(["cat"]), stdin("line one\n"), stdin("line two\n")])).toEqual({
      stdout: "line one\nline two\n",
      exitCode: 0,
    });
    const signalled = await run([spec(["cat"]), { request: { case: "signal", value: 15 } }]);
    expect(signalled.exitCode).toBe(143);
  });

  it("bad requests and missing roles give typed errors", async () => {
    const noImage = await failure(run([spec(["true"], "docker.io/library/absent:1")]));
    expect(noImage.code).toBe("NOT_FOUND");
    expect(noImage.message).toMatch(/absent:1/);
    const noSpec = await failure(
      run([{ request: { case: "stdinData", value: Buffer.from("x") } }]),
    );
    expect(noSpec.code).toBe("INVALID_ARGUMENT");
    expect(noSpec.message).toMatch(/first message must be the container spec/);
    const denied = await failure(run([spec(["true"])], reader));
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect(denied.message).toMatch(/DebugService\/ContainerRun.*os:admin/);
  });
});

describe("LVM and MD", () => {
  it("removals name what does not exist, check their arguments and need os:admin", async () => {
    const vg = await failure(admin.at(CP).lvm.volumeGroupRemove({ volumeGroup: "vg0" }));
    expect(vg.code).toBe("NOT_FOUND");
    expect(vg.message).toMatch(/volume group "vg0"/);
    const lv = await failure(
      admin.at(CP).lvm.logicalVolumeRemove({ volumeGroup: "vg0", logicalVolume: "" }),
    );
    expect(lv.code).toBe("INVALID_ARGUMENT");
    const pv = await failure(admin.at(CP).lvm.physicalVolumeRemove({ device: "/dev/sdb" }));
    expect(pv.message).toMatch(/\/dev\/sdb/);
    const md = await failure(admin.at(CP).md.destroy({ device: "/dev/md0" }));
    expect(md.code).toBe("NOT_FOUND");
    expect(md.message).toMatch(/\/dev\/md0/);
    const denied = await failure(reader.at(CP).md.destroy({ device: "/dev/md0" }));
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect(denied.message).toMatch(
      /MDService\/Destroy on node 10\.5\.0\.2 was denied: it needs role os:admin/,
    );
  });

  it("are Unimplemented on Talos 1.13, with the reason", async () => {
    const err = await failure(admin.at(OLD).md.destroy({ device: "/dev/md0" }));
    expect(err.code).toBe("UNIMPLEMENTED");
    expect(err.message).toMatch(/Talos v1\.13\.9.*added in Talos v1\.14/);
  });
});
