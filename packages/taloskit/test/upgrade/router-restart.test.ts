// The fault matrix of a router (apid) restart during an upgrade: at each call
// of pull, install, reboot, the reboot watch and verification, either as the
// call arrives (the node never sees it) or as the node's answer passes
// through (the node handled it). Each upgrade completes, the node rebooted once.
import { installerImage } from "@taloskit/factory";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { UpgradeError, upgradeNode } from "../../src/upgrade/index.js";
import {
  type Env,
  FAST,
  NEW,
  NEW_AND_OLD,
  OLD,
  rejection,
  resetNewAndOld,
  SCHEMATIC_B,
  startEnv,
} from "./helpers.js";

let env: Env;

beforeAll(async () => {
  env = await startEnv(NEW_AND_OLD);
});
afterAll(async () => {
  await env?.close();
});
beforeEach(() => resetNewAndOld(env.sim));

const target = {
  version: "v1.14.0",
  image: installerImage("factory.example", {
    schematicId: SCHEMATIC_B,
    version: "v1.14.0",
    platform: "metal",
  }),
  schematic: SCHEMATIC_B,
};

type Moment = "arrival" | "response";

const MATRIX: [step: string, node: string, procedure: string, at: Moment][] = [
  ["pull", NEW, "machine.ImageService/Pull", "arrival"],
  ["pull", NEW, "machine.ImageService/Pull", "response"],
  ["install", NEW, "machine.LifecycleService/Upgrade", "arrival"],
  ["install", NEW, "machine.LifecycleService/Upgrade", "response"],
  ["reboot (the watch opened before it)", NEW, "machine.MachineService/Events", "arrival"],
  ["reboot", NEW, "machine.MachineService/Reboot", "arrival"],
  ["reboot", NEW, "machine.MachineService/Reboot", "response"],
  ["legacy upgrade", OLD, "machine.MachineService/Upgrade", "arrival"],
  ["legacy upgrade", OLD, "machine.MachineService/Upgrade", "response"],
];

describe("a router restart during an upgrade", () => {
  it.each(MATRIX)(
    "at %s on %s (%s, on %s): the upgrade completes",
    async (_s, node, procedure, at) => {
      const n = env.sim.node(node);
      const boots = n.state.boots;
      const restarted = env.sim.faults.restartRouterOn(procedure, at);
      const r = await upgradeNode(env.client, node, target, FAST);
      await restarted;
      expect(r).toMatchObject({ node, version: "v1.14.0", schematic: SCHEMATIC_B });
      expect(n.state.version).toBe("v1.14.0");
      expect(n.state.boots).toBe(boots + 1);
    },
  );

  it.each(["arrival", "response"] as const)(
    "at verify (on %s): the re-read rides through and the upgrade completes",
    async (at) => {
      const n = env.sim.node(NEW);
      const boots = n.state.boots;
      // Armed once the node is back up, so that it fires on the reads after the reboot.
      const restarted = n
        .nextBoot(5_000)
        .then(() => env.sim.faults.restartRouterOn("cosi.resource.State/Get", at));
      const r = await upgradeNode(env.client, NEW, target, FAST);
      await restarted;
      expect(r.version).toBe("v1.14.0");
      expect(n.state.boots).toBe(boots + 1);
    },
  );
});

describe("a node that really failed while the router restarted", () => {
  it("stops at the pull, nothing installed", async () => {
    env.sim.faults.failPull(NEW, "manifest unknown");
    const restarted = env.sim.faults.restartRouterOn("machine.ImageService/Pull", "arrival");
    const error = await upgradeNode(env.client, NEW, target, FAST).catch((e: unknown) => e);
    await restarted;
    expect(error).toMatchObject({ code: "UPGRADE_PULL_FAILED", node: NEW, step: "pull" });
    expect((error as UpgradeError).installPending).toBe(false);
    expect(env.sim.node(NEW).state.pendingUpgrade).toBeUndefined();
  });
});

const failure = (p: Promise<unknown>) => rejection(p, UpgradeError);

describe("an upgrade stopped after its installer was written", () => {
  it("says, when aborted before the reboot, that the upgrade is pending and how to undo it", async () => {
    const ac = new AbortController();
    const error = await failure(
      upgradeNode(env.client, NEW, target, {
        ...FAST,
        signal: ac.signal,
        beforeReboot: async () => ac.abort(new Error("operator stopped")),
      }),
    );
    expect(error).toMatchObject({ code: "UPGRADE_ABORTED", node: NEW, installPending: true });
    expect(error.message).toMatch(/installed on 10\.5\.0\.2 and pending: its next reboot/);
    expect(error.message).toMatch(/talosctl rollback -n 10\.5\.0\.2/);
    expect(env.sim.node(NEW).state.pendingUpgrade?.version).toBe("v1.14.0");
  });

  it("says so when the node acknowledged the reboot and never rebooted", async () => {
    env.sim.faults.ignoreReboots(NEW);
    try {
      const error = await failure(
        upgradeNode(env.client, NEW, target, {
          ...FAST,
          timeouts: { ...FAST.timeouts, rebootMs: 300 },
        }),
      );
      expect(error).toMatchObject({ node: NEW, step: "wait", installPending: true });
      expect(error.message).toMatch(/MachineService\.Rollback/);
      expect(env.sim.node(NEW).state.pendingUpgrade?.version).toBe("v1.14.0");
    } finally {
      env.sim.faults.ignoreReboots(NEW, false);
    }
  });

  it("does not say so when nothing was installed", async () => {
    env.sim.faults.installerExitCode(NEW, 7);
    const error = await failure(upgradeNode(env.client, NEW, target, FAST));
    expect(error).toMatchObject({ code: "UPGRADE_INSTALL_FAILED", installPending: false });
  });
});
