// One node upgraded over real TLS against the simulator: the 1.13+ path
// (Pull, LifecycleService.Upgrade, Reboot), the legacy path, and each fault
// stopping at the right step with nothing done after it.
import { installerImage } from "@taloskit/factory";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readNodeFacts, UpgradeError, upgradeNode } from "../../src/upgrade/index.js";
import {
  type Env,
  FAST,
  NEW,
  NEW_AND_OLD,
  OLD,
  recorder,
  rejection,
  resetNewAndOld,
  SCHEMATIC_A,
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

const image = (version: string, schematic = SCHEMATIC_A) =>
  installerImage("factory.example", { schematicId: schematic, version, platform: "metal" });

const expectUpgradeError = (p: Promise<unknown>) => rejection(p, UpgradeError);

describe("reading a node", () => {
  it("reads version, role, schematic, platform, SecureBoot and boot ID from the node", async () => {
    const n = env.sim.node(NEW);
    n.state.secureBoot = true;
    n.state.platform = "aws";
    n.touch();
    try {
      const f = await readNodeFacts(env.client, NEW);
      expect(f).toMatchObject({
        version: "v1.13.3",
        role: "worker",
        schematic: SCHEMATIC_A,
        schematicSource: "ExtensionStatus",
        platform: "aws",
        secureBoot: true,
        bootId: n.state.bootId,
        stage: "running",
        ready: true,
      });
    } finally {
      n.state.secureBoot = false;
      n.state.platform = "metal";
      n.touch();
    }
  });
});

describe("upgradeNode on Talos 1.13+", () => {
  it("pulls, installs, reboots, follows the node back and verifies version, schematic and boot ID", async () => {
    const n = env.sim.node(NEW);
    const bootBefore = n.state.bootId;
    const rec = recorder();
    const target = {
      version: "v1.14.0",
      image: image("v1.14.0", SCHEMATIC_B),
      schematic: SCHEMATIC_B,
    };
    const r = await upgradeNode(env.client, NEW, target, { ...FAST, onEvent: rec.on });
    expect(r).toMatchObject({
      node: NEW,
      from: "v1.13.3",
      version: "v1.14.0",
      method: "lifecycle",
    });
    expect(r.schematic).toBe(SCHEMATIC_B);
    expect(r.bootId).toBe(n.state.bootId);
    expect(r.bootId).not.toBe(bootBefore);
    expect(n.state.images.has(target.image)).toBe(true);
    const steps = rec.events.filter((e) => e.type === "step").map((e) => e.step);
    expect(steps).toEqual(["pull", "install", "reboot", "wait", "verify"]);
    const types = new Set(rec.events.map((e) => e.type));
    for (const t of ["pull-progress", "install-output", "machine-status", "node-done"]) {
      expect(types.has(t as never), t).toBe(true);
    }
    // The node went down during the reboot: the tracker reconnected at least once.
    expect(rec.events.some((e) => e.type === "reconnect")).toBe(true);
    const last = rec.events.filter((e) => e.type === "machine-status").at(-1);
    expect(last).toMatchObject({ stage: "running", ready: true });
  });

  it("stops at a failed pull: nothing installed, no reboot", async () => {
    env.sim.faults.failPull(NEW, "manifest unknown");
    const boots = env.sim.node(NEW).state.boots;
    const rec = recorder();
    const err = await expectUpgradeError(
      upgradeNode(
        env.client,
        NEW,
        { version: "v1.14.0", image: image("v1.14.0"), schematic: SCHEMATIC_A },
        {
          ...FAST,
          onEvent: rec.on,
        },
      ),
    );
    expect(err).toMatchObject({
      code: "UPGRADE_PULL_FAILED",
      node: NEW,
      step: "pull",
      version: "v1.14.0",
    });
    expect(err.message).toMatch(/manifest unknown/);
    expect(env.sim.node(NEW).state.pendingUpgrade).toBeUndefined();
    expect(env.sim.node(NEW).state.boots).toBe(boots);
    expect(rec.events.at(-1)).toMatchObject({ type: "node-failed", node: NEW });
    expect(rec.events.some((e) => e.type === "step" && e.step === "install")).toBe(false);
  });

  it("stops at a non-zero installer exit code without rebooting", async () => {
    env.sim.faults.installerExitCode(NEW, 7);
    const boots = env.sim.node(NEW).state.boots;
    const err = await expectUpgradeError(
      upgradeNode(
        env.client,
        NEW,
        { version: "v1.14.0", image: image("v1.14.0"), schematic: SCHEMATIC_A },
        FAST,
      ),
    );
    expect(err).toMatchObject({ code: "UPGRADE_INSTALL_FAILED", node: NEW, step: "install" });
    expect(err.message).toMatch(/exited with code 7/);
    expect(env.sim.node(NEW).state.boots).toBe(boots);
    expect(env.sim.node(NEW).state.version).toBe("v1.13.3");
  });

  it("fails with a clear state when the node never comes back", async () => {
    env.sim.faults.neverReturn(NEW);
    const err = await expectUpgradeError(
      upgradeNode(
        env.client,
        NEW,
        { version: "v1.14.0", image: image("v1.14.0"), schematic: SCHEMATIC_A },
        {
          ...FAST,
          timeouts: { ...FAST.timeouts, rebootMs: 400 },
        },
      ),
    );
    expect(err).toMatchObject({ code: "UPGRADE_NODE_NOT_READY", node: NEW, step: "wait" });
    expect(err.message).toMatch(/did not come back running and ready within 400 ms/);
    expect(env.sim.node(NEW).down).toBe(true);
  });

  it("times out when the node accepts the reboot but never reboots (its event stream stays open)", async () => {
    // A node that answers Reboot but does nothing: the first event stream never drops.
    env.sim.faults.ignoreReboots(NEW);
    try {
      const err = await expectUpgradeError(
        upgradeNode(
          env.client,
          NEW,
          { version: "v1.14.0", image: image("v1.14.0"), schematic: SCHEMATIC_A },
          { ...FAST, timeouts: { ...FAST.timeouts, rebootMs: 400 } },
        ),
      );
      expect(err).toMatchObject({ code: "UPGRADE_NODE_NOT_READY", node: NEW, step: "wait" });
      expect(err.message).toMatch(/within 400 ms/);
      expect(env.sim.node(NEW).down).toBe(false);
    } finally {
      env.sim.faults.ignoreReboots(NEW, false);
    }
  }, 30_000);

  it("reports a failed beforeReboot hook as UPGRADE_DRAIN_FAILED at the drain step", async () => {
    const err = await expectUpgradeError(
      upgradeNode(
        env.client,
        NEW,
        { version: "v1.14.0", image: image("v1.14.0"), schematic: SCHEMATIC_A },
        {
          ...FAST,
          beforeReboot: async () => {
            throw new Error("pods would not leave");
          },
        },
      ),
    );
    expect(err).toMatchObject({ code: "UPGRADE_DRAIN_FAILED", node: NEW, step: "drain" });
    expect(err.message).toMatch(/pods would not leave/);
    expect(env.sim.node(NEW).state.version).toBe("v1.13.3");
  });

  it("reports an abort by the caller as UPGRADE_ABORTED", async () => {
    env.sim.faults.neverReturn(NEW);
    const ac = new AbortController();
    const p = upgradeNode(
      env.client,
      NEW,
      { version: "v1.14.0", image: image("v1.14.0"), schematic: SCHEMATIC_A },
      {
        ...FAST,
        signal: ac.signal,
        onEvent: (e) => {
          if (e.type === "reconnect") ac.abort();
        },
      },
    );
    const err = await expectUpgradeError(p);
    expect(err.code).toBe("UPGRADE_ABORTED");
    expect(err.node).toBe(NEW);
  });
});

describe("upgradeNode on older Talos (MachineService.Upgrade)", () => {
  it("upgrades a 1.12 node with the legacy call and verifies it", async () => {
    const rec = recorder();
    const r = await upgradeNode(
      env.client,
      OLD,
      { version: "v1.13.3", image: image("v1.13.3"), schematic: SCHEMATIC_A },
      { ...FAST, onEvent: rec.on, legacy: { preserve: true } },
    );
    expect(r).toMatchObject({ method: "legacy", version: "v1.13.3", schematic: SCHEMATIC_A });
    const steps = rec.events.filter((e) => e.type === "step").map((e) => e.step);
    expect(steps).toEqual(["legacy-upgrade", "wait", "verify"]);
    // The legacy path never pulls through ImageService.
    expect(env.sim.node(OLD).state.images.size).toBe(0);
  });

  it("times out when the node accepts the legacy upgrade but never reboots", async () => {
    env.sim.faults.ignoreReboots(OLD);
    try {
      const err = await expectUpgradeError(
        upgradeNode(
          env.client,
          OLD,
          { version: "v1.13.3", image: image("v1.13.3"), schematic: SCHEMATIC_A },
          { ...FAST, timeouts: { ...FAST.timeouts, rebootMs: 400 } },
        ),
      );
      expect(err).toMatchObject({ code: "UPGRADE_NODE_NOT_READY", node: OLD, step: "wait" });
      expect(env.sim.node(OLD).state.version).not.toBe("v1.13.3");
    } finally {
      env.sim.faults.ignoreReboots(OLD, false);
    }
  }, 30_000);

  it("reports the failed upgrade sequence of a legacy upgrade", async () => {
    env.sim.faults.failPull(OLD, "not found");
    const err = await expectUpgradeError(
      upgradeNode(
        env.client,
        OLD,
        { version: "v1.13.3", image: image("v1.13.3"), schematic: SCHEMATIC_A },
        FAST,
      ),
    );
    expect(err).toMatchObject({ code: "UPGRADE_LEGACY_FAILED", node: OLD, step: "wait" });
    expect(err.message).toMatch(/sequence "upgrade" failed: failed to pull image/);
    expect(env.sim.node(OLD).state.version).toBe("v1.12.4");
  });
});
