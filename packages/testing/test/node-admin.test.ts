// The simulator's service control, Shutdown, Reset, Bootstrap and etcd admin
// calls, over real sockets: what the node answers and what it becomes.
import type * as grpc from "@grpc/grpc-js";
import { MachineService } from "@taloskit/api/machine";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClusterSimulator, startCluster } from "../src/index.js";
import { makeClient, md, unary } from "./helpers.js";

let sim: ClusterSimulator;
let admin: grpc.Client;
const M = MachineService.method;

beforeAll(async () => {
  sim = await startCluster({
    rebootDelayMs: 20,
    nodes: [
      { address: "10.5.0.2", role: "controlplane" },
      { address: "10.5.0.3", role: "controlplane" },
      { address: "10.5.0.4", role: "worker" },
      { address: "10.5.0.5", role: "worker" },
    ],
  });
  admin = makeClient(sim.endpoint, sim.pki);
});
afterAll(async () => {
  admin.close();
  await sim.close();
});

describe("service control", () => {
  it("stops, starts and restarts; an unknown service is NotFound", async () => {
    const at = md("10.5.0.4");
    expect(await unary(admin, M.serviceStop, { id: "kubelet" }, at)).toMatchObject({
      messages: [{ resp: 'Service "kubelet" stopped' }],
    });
    const svc = () => sim.node("10.5.0.4").state.services.find((s) => s.id === "kubelet");
    expect(svc()).toMatchObject({ state: "Finished", healthy: false });
    await unary(admin, M.serviceStart, { id: "kubelet" }, at);
    expect(svc()).toMatchObject({ state: "Running", healthy: true });
    await expect(unary(admin, M.serviceStart, { id: "kubelet" }, at)).rejects.toMatchObject({
      details: 'service "kubelet" is already running',
    });
    await expect(unary(admin, M.serviceRestart, { id: "nope" }, at)).rejects.toMatchObject({
      details: 'service "nope" not defined',
    });
  });
});

describe("Shutdown and Reset", () => {
  it("a shut-down node stays down until powered on", async () => {
    const node = sim.node("10.5.0.5");
    const down = node.nextDown(5_000);
    await unary(admin, M.shutdown, {}, md("10.5.0.5"));
    await down;
    expect(node.down).toBe(true);
    expect(node.state.poweredOff).toBe(true);
    const up = node.nextBoot(5_000);
    node.powerOn();
    await up;
    expect(node.state.stage).toBe("running");
  });

  it("a reset with reboot brings the node back in maintenance; a bad label is refused", async () => {
    await expect(
      unary(
        admin,
        M.reset,
        { systemPartitionsToWipe: [{ label: "NOPE", wipe: true }] },
        md("10.5.0.5"),
      ),
    ).rejects.toMatchObject({ details: 'partition "NOPE" not found' });
    const node = sim.node("10.5.0.5");
    const up = node.nextBoot(5_000);
    await unary(admin, M.reset, { graceful: true, reboot: true }, md("10.5.0.5"));
    await up;
    expect(node.state).toMatchObject({ maintenance: true, stage: "maintenance", config: "" });
    expect(node.state.lastReset).toMatchObject({ mode: "all", labels: [], reboot: true });
  });
});

describe("Bootstrap and etcd admin", () => {
  it("bootstraps once, only on a control plane", async () => {
    const cp = sim.node("10.5.0.2");
    await expect(unary(admin, M.bootstrap, {}, md("10.5.0.2"))).rejects.toMatchObject({
      details: "etcd data directory is not empty",
    });
    cp.state.etcdBootstrapped = false;
    await unary(admin, M.bootstrap, {}, md("10.5.0.2"));
    expect(cp.state.etcdBootstrapped).toBe(true);
    await expect(unary(admin, M.bootstrap, {}, md("10.5.0.4"))).rejects.toMatchObject({
      details: "bootstrap can only be performed on a control plane node",
    });
  });

  it("forfeit, defrag, alarms and leave change what the members report", async () => {
    const a = sim.node("10.5.0.2").state;
    const b = sim.node("10.5.0.3").state;
    const leader = async () =>
      (
        (await unary(admin, M.etcdStatus, {}, md("10.5.0.3"))) as {
          messages: { memberStatus: { leader: string } }[];
        }
      ).messages[0]?.memberStatus.leader;
    expect(String(await leader())).toBe(String(a.etcd?.id));
    await unary(admin, M.etcdForfeitLeadership, {}, md("10.5.0.2"));
    expect(String(await leader())).toBe(String(b.etcd?.id));

    await unary(admin, M.etcdDefragment, {}, md("10.5.0.3"));
    expect(b.etcd?.dbSize).toBe(10_000_000n);

    if (a.etcd) a.etcd.alarms = ["CORRUPT"];
    const alarms = (await unary(admin, M.etcdAlarmList, {}, md("10.5.0.3"))) as {
      messages: { memberAlarms: { alarm: number }[] }[];
    };
    expect(alarms.messages[0]?.memberAlarms.map((x) => x.alarm)).toEqual([2]);

    await unary(admin, M.etcdLeaveCluster, {}, md("10.5.0.3"));
    expect(b.etcd).toBeUndefined();
    expect(b.services.find((s) => s.id === "etcd")?.state).toBe("Finished");
  });
});
