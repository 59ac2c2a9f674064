// service start|stop|restart, reboot, shutdown and reset through the taloskit
// binary's entry, global flags first, against the simulated cluster.
import type { ClusterSimulator } from "@taloskit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeReset, resetCommand } from "../../src/cli/commands/power.js";
import {
  type CliCluster,
  parseJsonStream,
  runMain,
  runTaloskitMain,
  startCliCluster,
} from "../helpers/cli.js";

let cluster: CliCluster;
let sim: ClusterSimulator;
let cfg: string;

beforeAll(async () => {
  cluster = await startCliCluster(
    {
      nodes: [
        { address: "10.5.0.2", role: "controlplane" },
        { address: "10.5.0.3", role: "worker" },
        { address: "10.5.0.4", role: "worker" },
        { address: "10.5.0.5", role: "worker" },
        { address: "10.5.0.6", role: "worker" },
      ],
      rebootDelayMs: 50,
    },
    { roles: ["os:admin"] },
  );
  ({ sim, cfg } = cluster);
});
afterAll(async () => {
  await cluster?.close();
});

const tk = (...args: string[]) => runTaloskitMain(["--talosconfig", cfg, ...args]);
const service = (node: string, id: string) =>
  sim.node(node).state.services.find((s) => s.id === id);

describe("taloskit service <id> start|stop|restart", () => {
  it("stops, starts and restarts a service, as the node then reports it", async () => {
    const stop = await tk("-n", "10.5.0.3", "service", "kubelet", "stop");
    expect(stop.stderr).toBe("");
    expect(stop.code).toBe(0);
    expect(stop.stdout).toMatch(/^NODE\s+RESPONSE\n10\.5\.0\.3\s+Service "kubelet" stopped\n$/);
    expect(service("10.5.0.3", "kubelet")?.state).toBe("Finished");

    const status = await tk("-n", "10.5.0.3", "service", "kubelet");
    expect(status.stdout).toMatch(/^NODE\s+10\.5\.0\.3\nID\s+kubelet\nSTATE\s+Finished\n/);

    const start = await tk("-n", "10.5.0.3", "-o", "json", "service", "kubelet", "start");
    expect(parseJsonStream(start.stdout)).toEqual([
      { node: "10.5.0.3", response: 'Service "kubelet" started' },
    ]);
    expect(service("10.5.0.3", "kubelet")?.state).toBe("Running");

    const restart = await tk("-n", "10.5.0.3,10.5.0.4", "service", "kubelet", "restart");
    expect(restart.code).toBe(0);
    expect(restart.stdout.split("\n").filter((l) => l.includes("restarted"))).toHaveLength(2);
  });

  it("names the node and the service it does not know, and changes nothing", async () => {
    const before = JSON.stringify(sim.node("10.5.0.3").state.services);
    const r = await tk("-n", "10.5.0.3", "service", "nope", "stop");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^taloskit: 10\.5\.0\.3: .*service "nope" not defined.*\n$/);
    expect(JSON.stringify(sim.node("10.5.0.3").state.services)).toBe(before);
  });

  it("refuses an unknown action before contacting any node", async () => {
    const calls = sim.node("10.5.0.3").calls("machine.MachineService/ServiceList");
    const r = await tk("-n", "10.5.0.3", "service", "kubelet", "explode");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'taloskit: unknown service action "explode": use one of start, stop, restart, status\n',
    );
    expect(sim.node("10.5.0.3").calls("machine.MachineService/ServiceList")).toBe(calls);
  });
});

describe("taloskit reboot", () => {
  it("reboots and waits until the node is back with a new boot ID (talosctl's default)", async () => {
    const node = sim.node("10.5.0.3");
    const boots = node.state.boots;
    const bootId = node.state.bootId;
    const r = await tk("-n", "10.5.0.3", "-o", "json", "reboot");
    expect(r.code).toBe(0);
    const [row] = parseJsonStream(r.stdout) as { node: string; status: string; bootId: string }[];
    expect(row).toMatchObject({ node: "10.5.0.3", status: "rebooted" });
    expect(row?.bootId).toBe(node.state.bootId);
    expect(node.state.bootId).not.toBe(bootId);
    expect(node.state.boots).toBe(boots + 1);
    expect(r.stderr).toContain("10.5.0.3: back up");
  });

  it("--wait=false returns at once; --mode powercycle is sent", async () => {
    const node = sim.node("10.5.0.4");
    const boots = node.state.boots;
    const back = node.nextBoot(10_000);
    const r = await tk("-n", "10.5.0.4", "reboot", "--wait=false", "--mode", "powercycle");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^NODE\s+STATUS\s+ACTOR ID\n10\.5\.0\.4\s+rebooting\s+\S+\n$/);
    await back;
    expect(node.state.boots).toBe(boots + 1);
  });

  it("a node that never goes down: --timeout ends the wait with one line naming it", async () => {
    sim.faults.ignoreReboots("10.5.0.4", true);
    try {
      const r = await tk("-n", "10.5.0.4", "reboot", "--timeout", "300ms");
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /^10\.5\.0\.4: rebooting\ntaloskit: 10\.5\.0\.4: timed out after 300 ms waiting for the node to go down\n$/,
      );
    } finally {
      sim.faults.ignoreReboots("10.5.0.4", false);
    }
  });

  it("an unreachable node: one line naming it, exit 1, the others rebooted", async () => {
    sim.faults.unreachable("10.5.0.5", true);
    try {
      const r = await tk("-n", "10.5.0.5", "reboot", "--wait=false");
      expect(r.code).toBe(1);
      expect(r.stderr.split("\n").filter(Boolean)).toHaveLength(1);
      expect(r.stderr).toMatch(/^taloskit: 10\.5\.0\.5: /);
      expect(sim.node("10.5.0.5").state.boots).toBe(1);
    } finally {
      sim.faults.unreachable("10.5.0.5", false);
    }
  });
});

describe("taloskit shutdown", () => {
  it("shuts the node down and waits until it is gone", async () => {
    const node = sim.node("10.5.0.5");
    const r = await tk("-n", "10.5.0.5", "shutdown");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/10\.5\.0\.5\s+shut down/);
    expect(node.down).toBe(true);
    expect(node.state.poweredOff).toBe(true);
    const up = node.nextBoot(5_000);
    node.powerOn();
    await up;
    expect(node.state.poweredOff).toBe(false);
  });
});

describe("taloskit reset", () => {
  it("refuses without a terminal and without --yes, naming what it would wipe", async () => {
    const r = await tk("-n", "10.5.0.6", "reset");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    expect(r.stderr).toContain("reset of 10.5.0.6 wipes the whole system disk");
    expect(r.stderr).toContain("pass --yes");
    expect(sim.node("10.5.0.6").calls("machine.MachineService/Reset")).toBe(0);
    expect(sim.node("10.5.0.6").state.maintenance).toBe(false);
  });

  it("on a terminal asks, and a no does nothing", async () => {
    let asked = "";
    const r = await runMain(
      resetCommand,
      ["--talosconfig", cfg, "-n", "10.5.0.6", "--system-labels-to-wipe", "STATE"],
      {
        env: {},
        interactive: true,
        confirm: async (q: string) => {
          asked = q;
          return false;
        },
      },
    );
    expect(asked).toContain("system partitions STATE");
    expect(asked).toContain("gracefully");
    expect(asked).toContain("then powers off");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("taloskit: reset of 10.5.0.6 cancelled: nothing was done\n");
    expect(sim.node("10.5.0.6").calls("machine.MachineService/Reset")).toBe(0);
  });

  it("--yes --reboot wipes STATE and EPHEMERAL and the node comes back in maintenance", async () => {
    const node = sim.node("10.5.0.6");
    const back = node.nextBoot(10_000);
    const r = await tk(
      "-n",
      "10.5.0.6",
      "reset",
      "--yes",
      "--reboot",
      "--graceful=false",
      "--system-labels-to-wipe",
      "STATE",
      "--system-labels-to-wipe",
      "EPHEMERAL",
    );
    expect(r.stderr).toContain("10.5.0.6: resetting");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/10\.5\.0\.6\s+reset, rebooting/);
    await back;
    expect(node.state.maintenance).toBe(true);
    expect(node.state.stage).toBe("maintenance");
    expect(node.state.config).toBe("");
    expect(node.state.lastReset).toEqual({
      graceful: false,
      reboot: true,
      mode: "all",
      labels: ["STATE", "EPHEMERAL"],
      userDisks: [],
    });
  });

  it("says what each choice wipes", () => {
    expect(
      describeReset({
        wait: true,
        timeout: "1m",
        graceful: true,
        reboot: false,
        wipeMode: "user-disks",
        userDisksToWipe: ["/dev/sdb"],
      }),
    ).toBe(
      "wipes user disks /dev/sdb, gracefully (the node is cordoned and drained, and a control plane leaves etcd first), then powers off",
    );
  });
});
